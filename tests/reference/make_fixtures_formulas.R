#!/usr/bin/env Rscript
# Reference values for expression terms in model formulas (I(ell^2), I(meals > 50), log(enroll), an I(...)
# response), on the api data as tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_formulas.R
# Writes formulas.csv (coefficients with R's names, SEs, tests and predictions, the R command beside each number)
# and formulas_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_formulas.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "formulas_PROVENANCE.txt"))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
ctl <- glm.control(epsilon = 1e-13, maxit = 100)   # converge far beyond glm's default 1e-8
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
fits <- list(
  square_cut = list(svyglm(api00 ~ ell + I(ell^2) + I(meals > 50), dstrat),
                    "svyglm(api00 ~ ell + I(ell^2) + I(meals > 50), dstrat)"),
  logit_response = list(svyglm(I(sch.wide == "Yes") ~ ell + I(ell^2), dstrat, family = quasibinomial(), control = ctl),
                        "svyglm(I(sch.wide == 'Yes') ~ ell + I(ell^2), dstrat, family=quasibinomial())"),
  log_interaction = list(svyglm(api00 ~ log(enroll) * stype, dclus1),
                         "svyglm(api00 ~ log(enroll) * stype, dclus1)"),
  scaled_response = list(svyglm(I(api00 / 100) ~ I(2 * ell) + sqrt(meals), dclus1),
                         "svyglm(I(api00 / 100) ~ I(2 * ell) + sqrt(meals), dclus1)"),
  # R's precedence (%% before *), deparse (no spaces around / and %%, 1e+05, unary plus) and a number compared
  # with text, as an R user writes them
  precedence = list(svyglm(api00 ~ I(2 * ell %% 7) + I(enroll/100) + I(+meals) + I(meals > 1e5 - 99950) +
                             I(ell == "0"), dstrat),
                    "svyglm(api00 ~ I(2 * ell %% 7) + I(enroll/100) + I(+meals) + I(meals > 1e5 - 99950) + I(ell == '0'), dstrat)"),
  # an interaction's sides in their order of first appearance; a logical column's indicator
  order_logical = list(svyglm(api00 ~ stype + ell + ell:stype + flag, update(dstrat, flag = api99 > 700)),
                       "svyglm(api00 ~ stype + ell + ell:stype + flag, update(dstrat, flag = api99 > 700))"),
  # factor() of a numeric code (levels sorted by value: 1, 2, 10) and of a text column
  factor_numeric = list(svyglm(api00 ~ factor(mc) + ell,
                               update(dstrat, mc = ifelse(meals > 50, 2, ifelse(meals > 20, 10, 1)))),
                        "svyglm(api00 ~ factor(mc) + ell, update(dstrat, mc = ifelse(meals > 50, 2, ifelse(meals > 20, 10, 1))))"),
  factor_logit = list(svyglm(I(sch.wide == "Yes") ~ factor(stype) + ell, dclus1, family = quasibinomial(),
                             control = ctl),
                      "svyglm(I(sch.wide == 'Yes') ~ factor(stype) + ell, dclus1, family=quasibinomial())"))
rows <- list()
for (name in names(fits)) {
  g <- fits[[name]][[1]]
  call <- fits[[name]][[2]]
  rows[[length(rows) + 1]] <- rbind(
    cmp(name, paste0("coef_", names(coef(g))), coef(g), paste0("coef(", call, ")")),
    cmp(name, paste0("se_", names(coef(g))), SE(g), paste0("SE(", call, ")")))
}
wf <- regTermTest(fits$factor_numeric[[1]], ~factor(mc))
pf <- predict(fits$factor_numeric[[1]], data.frame(mc = c(10, 1), ell = c(5, 30)))
w <- regTermTest(fits$square_cut[[1]], ~I(ell^2))
l <- regTermTest(fits$square_cut[[1]], ~I(ell^2), method = "LRT")
new <- data.frame(ell = c(5, 30))
p <- predict(fits$logit_response[[1]], new, type = "response")
rows[[length(rows) + 1]] <- rbind(
  cmp("square_cut", "wald_F", w$Ftest, "regTermTest(square_cut, ~I(ell^2))$Ftest"),
  cmp("square_cut", "wald_p", w$p, "regTermTest(square_cut, ~I(ell^2))$p"),
  cmp("square_cut", "lrt_chisq", l$chisq, "regTermTest(square_cut, ~I(ell^2), method='LRT')$chisq"),
  cmp("square_cut", "lrt_p", l$p, "regTermTest(square_cut, ~I(ell^2), method='LRT')$p"),
  cmp("logit_response", c("predict_5", "predict_30"), coef(p), "predict(logit_response, data.frame(ell=c(5,30)), type='response')"),
  cmp("logit_response", c("predict_se_5", "predict_se_30"), SE(p),
      "SE(predict(logit_response, data.frame(ell=c(5,30)), type='response'))"))
rows[[length(rows) + 1]] <- rbind(
  cmp("factor_numeric", "wald_F", wf$Ftest, "regTermTest(factor_numeric, ~factor(mc))$Ftest"),
  cmp("factor_numeric", "wald_p", wf$p, "regTermTest(factor_numeric, ~factor(mc))$p"),
  cmp("factor_numeric", c("predict_10_5", "predict_1_30"), coef(pf),
      "predict(factor_numeric, data.frame(mc=c(10,1), ell=c(5,30)))"),
  cmp("factor_numeric", c("predict_se_10_5", "predict_se_1_30"), SE(pf),
      "SE(predict(factor_numeric, data.frame(mc=c(10,1), ell=c(5,30))))"))
write.csv(do.call(rbind, rows), file.path(out, "formulas.csv"), row.names = FALSE)
