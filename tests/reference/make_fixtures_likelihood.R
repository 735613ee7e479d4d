#!/usr/bin/env Rscript
# Reference values for svyciprop(method = "likelihood"): the profile-likelihood interval of a proportion from the
# quasibinomial svyglm, its cut-off scaled by the design effect (Rao-Scott), on the api data as
# tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them. The cases of make_fixtures_models.R's svyciprop
# (whole sample, calibrated, a rare category, 90 %, JK1 replicates, by domain as svyby runs them), plus a variable
# with missing values (whole sample and by domain), a domain of a calibrated design, and a share with a design
# effect of 23.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_likelihood.R
# Writes ciprop_likelihood.csv (the R command beside each number) and ciprop_likelihood_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_likelihood.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "ciprop_likelihood_PROVENANCE.txt"))
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
# awards_na: awards, unknown for the schools whose api99 is below 600; ell_hi: a domain across strata
with_na <- function(d) transform(d, awards_na = ifelse(api99 < 600, NA, awards == "Yes"),
                                 ell_hi = ifelse(ell > 20, "hi", "lo"))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = with_na(apiclus1), fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = with_na(apistrat), fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
dcal <- calibrate(dclus1, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                  calfun = "raking", epsilon = 1e-13, maxit = 200)
CAL <- "calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking')"
cases <- list(
  list("clus1_schwide", quote(I(sch.wide == "Yes")), dclus1, "dclus1", 0.95),
  list("clus1_H", quote(I(stype == "H")), dclus1, "dclus1", 0.95),
  list("clus1_H_90", quote(I(stype == "H")), dclus1, "dclus1", 0.90),
  list("cal_compimp", quote(I(comp.imp == "Yes")), dcal, CAL, 0.95),
  list("strat_awards", quote(I(awards == "Yes")), dstrat, "dstrat", 0.95),
  list("strat_awards_na", quote(awards_na), dstrat, "dstrat", 0.95),
  # a share constant within clusters: a design effect of 23 (the grid's F quantile far in its tail)
  list("clus1_even", quote(I(dnum %% 2 == 0)), dclus1, "dclus1", 0.95),
  list("clus1_even_99", quote(I(dnum %% 2 == 0)), dclus1, "dclus1", 0.99),
  list("jk1_H", quote(I(stype == "H")), rclus1, "as.svrepdesign(dclus1, type='JK1')", 0.95))
rows <- list()
for (cc in cases) {
  r <- svyciprop(as.formula(call("~", cc[[2]])), cc[[3]], method = "likelihood", level = cc[[5]])
  call <- paste0("svyciprop(~", deparse(cc[[2]]), ", ", cc[[4]], ", method='likelihood', level=", cc[[5]], ")")
  rows[[length(rows) + 1]] <- rbind(
    cmp(cc[[1]], "estimate", coef(r), call), cmp(cc[[1]], "low", attr(r, "ci")[1], call),
    cmp(cc[[1]], "high", attr(r, "ci")[2], call))
}
by_cases <- list(
  list("strat_awards_by_", quote(I(awards == "Yes")), ~stype, dstrat, "dstrat"),
  list("clus1_schwide_by_", quote(I(sch.wide == "Yes")), ~stype, dclus1, "dclus1"),
  list("cal_compimp_by_", quote(I(comp.imp == "Yes")), ~stype, dcal, CAL),
  list("strat_awards_na_by_", quote(awards_na), ~ell_hi, dstrat, "dstrat"),   # weights vary within a domain
  list("jk1_schwide_by_", quote(I(sch.wide == "Yes")), ~stype, rclus1, "as.svrepdesign(dclus1, type='JK1')"))
for (bc in by_cases) {
  b <- svyby(as.formula(call("~", bc[[2]])), bc[[3]], bc[[4]], svyciprop, method = "likelihood", vartype = "ci")
  call <- paste0("svyby(~", deparse(bc[[2]]), ", ", deparse(bc[[3]]), ", ", bc[[5]],
                 ", svyciprop, method='likelihood', vartype='ci')")
  dom <- paste0(bc[[1]], b[[1]])
  rows[[length(rows) + 1]] <- rbind(
    cmp(dom, "estimate", b[[2]], call), cmp(dom, "low", b$ci_l, call), cmp(dom, "high", b$ci_u, call))
}
write.csv(do.call(rbind, rows), file.path(out, "ciprop_likelihood.csv"), row.names = FALSE)
