#!/usr/bin/env Rscript
# Reference values for post-stratification (R postStratify), on the api data as tests/reference/fixtures/apistrat.csv
# and apiclus1.csv hold them: weights, means, totals and their SEs, linearised and with JK1 replicates re-run, one
# post-stratification variable and two crossed (their population counts, from apipop, are written too), and a
# population stratum absent from the sample (partial = TRUE).
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_poststratify.R
# Writes poststratify.csv (the R command beside each number) and poststratify_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_poststratify.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "poststratify_PROVENANCE.txt"))
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
pop1 <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop2 <- as.data.frame(table(stype = apipop$stype, sch.wide = apipop$sch.wide))
pop1x <- data.frame(stype = c("E", "H", "M", "X"), Freq = c(4421, 755, 1018, 500))   # X: no school in the sample
designs <- list(
  clus1_stype = list(postStratify(dclus1, ~stype, pop1), "postStratify(dclus1, ~stype, pop1)"),
  clus1_jk1_stype = list(postStratify(as.svrepdesign(dclus1, type = "JK1"), ~stype, pop1),
                         "postStratify(as.svrepdesign(dclus1, type='JK1'), ~stype, pop1)"),
  strat_stype_schwide = list(postStratify(dstrat, ~stype + sch.wide, pop2),
                             "postStratify(dstrat, ~stype + sch.wide, pop2)"),
  clus1_partial = list(postStratify(dclus1, ~stype, pop1x, partial = TRUE),
                       "postStratify(dclus1, ~stype, pop1x, partial = TRUE)"))
rows <- list(cmp("population", paste0("pop_", pop2$stype, "_", pop2$sch.wide), pop2$Freq,
                 "as.data.frame(table(stype = apipop$stype, sch.wide = apipop$sch.wide))"))
for (name in names(designs)) {
  d <- designs[[name]][[1]]
  call <- designs[[name]][[2]]
  m <- svymean(~api00, d)
  t <- svytotal(~enroll, d)
  b <- svyby(~api00, ~sch.wide, d, svymean)
  w <- weights(d, "sampling")
  rows[[length(rows) + 1]] <- rbind(
    cmp(name, "mean_api00", coef(m), paste0("svymean(~api00, ", call, ")")),
    cmp(name, "se_mean_api00", SE(m), paste0("SE(svymean(~api00, ", call, "))")),
    cmp(name, "total_enroll", coef(t), paste0("svytotal(~enroll, ", call, ")")),
    cmp(name, "se_total_enroll", SE(t), paste0("SE(svytotal(~enroll, ", call, "))")),
    cmp(name, paste0("mean_api00_schwide_", b$sch.wide), coef(b), paste0("svyby(~api00, ~sch.wide, ", call, ", svymean)")),
    cmp(name, paste0("se_mean_api00_schwide_", b$sch.wide), SE(b), paste0("SE(svyby(~api00, ~sch.wide, ", call, ", svymean))")),
    cmp(name, paste0("weight_", seq_along(w)), w, paste0("weights(", call, ", 'sampling')")))
}
write.csv(do.call(rbind, rows), file.path(out, "poststratify.csv"), row.names = FALSE)
