#!/usr/bin/env Rscript
# Reference values for domains of several variables (svyby with by = ~a + b): the order of the rows (R's
# interaction(), the first variable varying fastest, each factor's levels sorted as factor() sorts them), the
# estimates and their SEs, on the api data as tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_domains.R
# Writes domains.csv (one row per domain and quantity, the R command beside each number) and domains_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_domains.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "domains_PROVENANCE.txt"))
# mc: a numeric code (levels 1, 2, 10 sorted by value), missing for the schools with meals unknown or above 90
code <- function(d) ifelse(d$meals > 90, NA, ifelse(d$meals > 50, 2, ifelse(d$meals > 20, 10, 1)))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = transform(apistrat, mc = code(apistrat)),
                    fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = transform(apiclus1, mc = code(apiclus1)), fpc = ~fpc)
cases <- list(
  strat_stype_awards = list(svyby(~api00, ~stype + awards, dstrat, svymean),
                            "svyby(~api00, ~stype + awards, dstrat, svymean)", c("stype", "awards")),
  strat_awards_stype = list(svyby(~api00, ~awards + stype, dstrat, svymean),
                            "svyby(~api00, ~awards + stype, dstrat, svymean)", c("awards", "stype")),
  clus1_mc_schwide = list(svyby(~api00, ~mc + sch.wide, dclus1, svymean),
                          "svyby(~api00, ~mc + sch.wide, dclus1, svymean)", c("mc", "sch.wide")),
  clus1_total_three = list(svyby(~enroll, ~sch.wide + stype + mc, dclus1, svytotal),
                           "svyby(~enroll, ~sch.wide + stype + mc, dclus1, svytotal)", c("sch.wide", "stype", "mc"))
)
rows <- do.call(rbind, lapply(names(cases), function(name) {
  b <- cases[[name]][[1]]
  by <- cases[[name]][[3]]
  levels <- do.call(paste, c(lapply(by, function(v) as.character(b[[v]])), sep = " × "))
  data.frame(fixture = name, by = paste(by, collapse = "+"), position = seq_len(nrow(b)), levels = levels,
             estimate = sprintf("%.17g", coef(b)), se = sprintf("%.17g", SE(b)), r_call = cases[[name]][[2]])
}))
write.csv(rows, file.path(out, "domains.csv"), row.names = FALSE)
