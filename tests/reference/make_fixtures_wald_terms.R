#!/usr/bin/env Rscript
# Reference values for two audits whose numbers the tests once held as literals: the Wald test of several terms
# together (regTermTest on a formula of terms) and the logit interval of a share that one JK1 replicate moves to 0
# (svyciprop), on the api data as tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_wald_terms.R
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_wald_terms.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "wald_terms_PROVENANCE.txt"))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
wald <- function(fixture, fit, terms, call) {
  rt <- regTermTest(fit, terms)
  what <- paste0("regTermTest(", call, ", ", deparse(terms), ")")
  rbind(cmp(fixture, "F", rt$Ftest, paste0(what, "$Ftest")), cmp(fixture, "ndf", rt$df, paste0(what, "$df")),
        cmp(fixture, "ddf", rt$ddf, paste0(what, "$ddf")), cmp(fixture, "p", rt$p, paste0(what, "$p")))
}
gauss <- svyglm(api00 ~ ell + meals + stype, dstrat)
logit <- svyglm(I(sch.wide == "Yes") ~ ell + meals + stype, dclus1, family = quasibinomial(),
                control = glm.control(epsilon = 1e-14, maxit = 100))
rows <- list(
  wald("gauss_strat_ell_stype", gauss, ~ell + stype, "svyglm(api00 ~ ell + meals + stype, dstrat)"),
  wald("logit_clus1_meals_stype", logit, ~meals + stype,
       "svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dclus1, family=quasibinomial())"))
for (mse in c(FALSE, TRUE)) {
  rd <- as.svrepdesign(dclus1, type = "JK1", mse = mse)
  ci <- svyciprop(~I(api00 > 880), rd, method = "logit")
  call <- paste0("svyciprop(~I(api00 > 880), as.svrepdesign(dclus1, type='JK1', mse=", mse, "), method='logit')")
  fixture <- paste0("ciprop_hi_jk1", if (mse) "_mse" else "")
  rows[[length(rows) + 1]] <- rbind(cmp(fixture, "estimate", coef(ci), call),
                                    cmp(fixture, "ci_low", confint(ci)[1], paste0("confint(", call, ")")),
                                    cmp(fixture, "ci_high", confint(ci)[2], paste0("confint(", call, ")")))
}
write.csv(do.call(rbind, rows), file.path(out, "wald_terms.csv"), row.names = FALSE)
