#!/usr/bin/env Rscript
# Reference values for svychisq's other statistics: the design-based Wald tests ("Wald", "adjWald") and the
# saddlepoint p-value of Pearson's X^2 ("saddlepoint"), on the api data as tests/reference/fixtures/apistrat.csv
# and apiclus1.csv hold them: a cluster sample, a stratified one, a calibrated one, a 3 x 3 table, JK1 replicates,
# a domain of the calibrated design (and the F statistic of each, for its degrees of freedom).
# ("lincom" needs the CompQuadForm package, not in Debian's R: not covered.)
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_chisq.R
# Writes chisq.csv (the R command beside each number) and chisq_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_chisq.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "chisq_PROVENANCE.txt"))
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
mealcat <- function(d) transform(d, mealcat = cut(meals, c(-1, 30, 60, 101), labels = c("low", "mid", "high")))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = mealcat(apiclus1), fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = mealcat(apistrat), fpc = ~fpc)
dcal <- calibrate(dclus1, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                  calfun = "raking", epsilon = 1e-13, maxit = 200)
CAL <- "calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking')"
cases <- list(
  list("clus1", ~sch.wide + stype, dclus1, "svychisq(~sch.wide+stype, dclus1"),
  list("strat", ~awards + comp.imp, dstrat, "svychisq(~awards+comp.imp, dstrat"),
  list("cal", ~comp.imp + stype, dcal, paste0("svychisq(~comp.imp+stype, ", CAL)),
  list("clus1_3x3", ~stype + mealcat, dclus1, "svychisq(~stype+mealcat, dclus1"),
  list("jk1", ~sch.wide + stype, as.svrepdesign(dclus1, type = "JK1"),
       "svychisq(~sch.wide+stype, as.svrepdesign(dclus1, type='JK1')"),
  # a domain of a calibrated design: R's subset keeps every row (weight 0), and svychisq counts all their PSUs
  list("cal_domain", ~comp.imp + sch.wide, subset(dcal, dnum > 400),   # 10 of the 15 districts
       paste0("svychisq(~comp.imp+sch.wide, subset(", CAL, ", dnum > 400)")))
rows <- list()
for (cc in cases) {
  for (st in c("Wald", "adjWald", "saddlepoint", "F")) {
    x <- svychisq(cc[[2]], cc[[3]], statistic = st)
    call <- paste0(cc[[4]], ", statistic='", st, "')")
    rows[[length(rows) + 1]] <- rbind(
      cmp(cc[[1]], paste0(st, "_statistic"), x$statistic, call), cmp(cc[[1]], paste0(st, "_p"), x$p.value, call))
    if (st != "saddlepoint")
      rows[[length(rows) + 1]] <- rbind(cmp(cc[[1]], paste0(st, "_ndf"), x$parameter[1], call),
                                        cmp(cc[[1]], paste0(st, "_ddf"), x$parameter[2], call))
  }
}
write.csv(do.call(rbind, rows), file.path(out, "chisq.csv"), row.names = FALSE)
