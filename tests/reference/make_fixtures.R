#!/usr/bin/env Rscript
# Reference values for portrait's tests, computed with the reference implementations in R.
# Run by hand from the repository root (the tests only read the CSV fixtures it writes):
#   apt-get install r-base-core r-cran-survey r-cran-sampling
#   Rscript tests/reference/make_fixtures.R
# Versions used for the committed fixtures are written to tests/reference/fixtures/VERSIONS.txt.
suppressPackageStartupMessages({
  library(sampling)
})
out <- "tests/reference/fixtures"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
writeLines(c(R.version.string,
             paste("sampling", packageVersion("sampling"))),
           file.path(out, "VERSIONS.txt"))

# ---------------------------------------------------------------------------------------------
# 1. Inclusion probabilities proportional to size with iterative capping, on the real frame:
#    the communes of Hauts-de-France (data/raw/communes_hdf.csv), strata department x size class
#    with the study's default breaks, several sample sizes per stratum, and the whole region.
communes <- read.csv2("data/raw/communes_hdf.csv", colClasses = c(code = "character",
                      departement = "character"), fileEncoding = "UTF-8-BOM")
breaks <- c(1000, 5000, 20000, 100000)
communes$stratum <- paste0(communes$departement, "-", findInterval(communes$population, breaks) + 1)
communes <- communes[order(communes$stratum, communes$code), ]

rows <- list()
calls <- list()
for (h in sort(unique(communes$stratum))) {
  d <- communes[communes$stratum == h, ]
  for (n in c(1, 2, 5, 10, 25)) {
    if (n > nrow(d)) next
    call <- sprintf("sampling::inclusionprobabilities(population[stratum == '%s'], %d)", h, n)
    rows[[length(rows) + 1]] <- data.frame(case = paste0(h, "/n=", n), code = d$code,
      population = d$population, n = n, pik = inclusionprobabilities(d$population, n))
    calls[[length(calls) + 1]] <- data.frame(case = paste0(h, "/n=", n), r_call = call)
  }
}
for (n in c(250, 1000)) {
  call <- sprintf("sampling::inclusionprobabilities(population, %d)  # whole region", n)
  rows[[length(rows) + 1]] <- data.frame(case = paste0("region/n=", n), code = communes$code,
    population = communes$population, n = n, pik = inclusionprobabilities(communes$population, n))
  calls[[length(calls) + 1]] <- data.frame(case = paste0("region/n=", n), r_call = call)
}
res <- do.call(rbind, rows)
res$pik <- sprintf("%.17g", res$pik)  # full double precision in the CSV
write.csv(res, file.path(out, "inclusionprobabilities.csv"), row.names = FALSE)
write.csv(do.call(rbind, calls), file.path(out, "inclusionprobabilities_calls.csv"), row.names = FALSE)
cat("wrote", nrow(res), "rows to", file.path(out, "inclusionprobabilities.csv"), "\n")
