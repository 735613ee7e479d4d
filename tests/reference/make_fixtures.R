#!/usr/bin/env Rscript
# Reference values for portrait's tests, computed with the reference implementations in R.
# Run by hand from the repository root (the tests only read the CSV fixtures it writes):
#   apt-get install r-base-core r-cran-survey r-cran-sampling r-cran-mass
#   make && .venv/bin/python tests/reference/export_simulated_fixture.py   # section 4's input
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

# ---------------------------------------------------------------------------------------------
# 2. Weighting and variance: R survey on the api data (apistrat: stratified SRS; apiclus1:
#    one-stage cluster sample of school districts), exported with the data so the tests need no R.
suppressPackageStartupMessages(library(survey))
write(paste("survey", packageVersion("survey")), file.path(out, "VERSIONS.txt"), append = TRUE)
data(api)
keep <- c("cds", "snum", "dnum", "stype", "sch.wide", "comp.imp", "awards", "api00", "api99",
          "enroll", "meals", "ell", "mobility", "avg.ed", "pw", "fpc")
write.csv(apistrat[, keep], file.path(out, "apistrat.csv"), row.names = FALSE)
write.csv(apiclus1[, keep], file.path(out, "apiclus1.csv"), row.names = FALSE)

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
eps <- 1e-13  # tight convergence so weights can be compared at rtol 1e-8
pop_stype <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
pop_stype_api99 <- c(pop_stype, api99 = 3914069)
pop_rake <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122)
cells <- as.data.frame(table(stype = apipop$stype, sch.wide = apipop$sch.wide))
apiclus1$cell <- interaction(apiclus1$stype, apiclus1$sch.wide, sep = ":")
dclus1 <- update(dclus1, cell = interaction(stype, sch.wide, sep = ":"))
pop_cell <- c(`(Intercept)` = 6194, setNames(cells$Freq[-1], paste0("cell", cells$stype[-1], ":", cells$sch.wide[-1])))

cals <- list(
  none = list(design = dclus1, call = "dclus1"),
  linear_stype = list(design = calibrate(dclus1, ~stype, pop_stype),
    call = "calibrate(dclus1, ~stype, c(`(Intercept)`=6194, stypeH=755, stypeM=1018))"),
  linear_stype_api99 = list(design = calibrate(dclus1, ~stype + api99, pop_stype_api99),
    call = "calibrate(dclus1, ~stype+api99, c(`(Intercept)`=6194, stypeH=755, stypeM=1018, api99=3914069))"),
  raking_stype_schwide = list(design = calibrate(dclus1, ~stype + sch.wide, pop_rake,
      calfun = "raking", epsilon = eps, maxit = 200),
    call = "calibrate(dclus1, ~stype+sch.wide, c(`(Intercept)`=6194, stypeH=755, stypeM=1018, sch.wideYes=5122), calfun='raking')"),
  raking_stype_api99 = list(design = calibrate(dclus1, ~stype + api99, pop_stype_api99,
      calfun = "raking", epsilon = eps, maxit = 200),
    call = "calibrate(dclus1, ~stype+api99, pop, calfun='raking')"),
  logit_stype_api99 = list(design = calibrate(dclus1, ~stype + api99, pop_stype_api99,
      calfun = "logit", bounds = c(0.7, 1.7), epsilon = eps, maxit = 200),
    call = "calibrate(dclus1, ~stype+api99, pop, calfun='logit', bounds=c(0.7,1.7))"),
  truncated_stype_api99 = list(design = calibrate(dclus1, ~stype + api99, pop_stype_api99,
      calfun = "linear", bounds = c(0.6, 1.6), epsilon = eps, maxit = 200),
    call = "calibrate(dclus1, ~stype+api99, pop, calfun='linear', bounds=c(0.6,1.6))"),
  joint_stype_schwide = list(design = calibrate(dclus1, ~cell, pop_cell),
    call = "calibrate(dclus1, ~interaction(stype, sch.wide), population cell counts of apipop)")
)

wrows <- list(); erows <- list()
est <- function(name, what, variable, domain, value, se, call) {
  data.frame(fixture = name, statistic = what, variable = variable, domain = domain,
             estimate = sprintf("%.17g", value), se = sprintf("%.17g", se), r_call = call)
}
for (name in names(cals)) {
  d <- cals[[name]]$design; call <- cals[[name]]$call
  wrows[[name]] <- data.frame(fixture = name, snum = apiclus1$snum, weight = sprintf("%.17g", weights(d)))
  m <- svymean(~api00, d, deff = TRUE)
  t <- svytotal(~enroll, d)
  p <- svymean(~sch.wide, d)
  b <- svyby(~api00, ~stype, d, svymean)
  bt <- svyby(~enroll, ~comp.imp, d, svytotal)
  erows[[length(erows) + 1]] <- rbind(
    est(name, "mean", "api00", "", coef(m), SE(m), paste0("svymean(~api00, ", call, ")")),
    est(name, "deff", "api00", "", deff(m), NA, paste0("deff(svymean(~api00, ", call, ", deff=TRUE))")),
    est(name, "total", "enroll", "", coef(t), SE(t), paste0("svytotal(~enroll, ", call, ")")),
    est(name, "mean", "sch.wide", "Yes", coef(p)[2], SE(p)[2], paste0("svymean(~sch.wide, ", call, ")")),
    est(name, "mean", "api00", paste0("stype=", b$stype), b$api00, b$se,
        paste0("svyby(~api00, ~stype, ", call, ", svymean)")),
    est(name, "total", "enroll", paste0("comp.imp=", bt$comp.imp), bt$enroll, bt$se,
        paste0("svyby(~enroll, ~comp.imp, ", call, ", svytotal)")))
}
# stratified design without calibration
m <- svymean(~api00, dstrat, deff = TRUE); t <- svytotal(~enroll, dstrat)
b <- svyby(~api00, ~comp.imp, dstrat, svymean)
erows[[length(erows) + 1]] <- rbind(
  est("dstrat", "mean", "api00", "", coef(m), SE(m), "svymean(~api00, dstrat, deff=TRUE)"),
  est("dstrat", "deff", "api00", "", deff(m), NA, "deff(svymean(~api00, dstrat, deff=TRUE))"),
  est("dstrat", "total", "enroll", "", coef(t), SE(t), "svytotal(~enroll, dstrat)"),
  est("dstrat", "mean", "api00", paste0("comp.imp=", b$comp.imp), b$api00, b$se,
      "svyby(~api00, ~comp.imp, dstrat, svymean)"))

# replicate weights: JK1 on dclus1 (deterministic) and a seeded subbootstrap on dstrat, exported
full <- function(m) apply(as.matrix(m), 2, function(x) sprintf("%.17g", x))
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
write.csv(data.frame(snum = apiclus1$snum, full(weights(rclus1, "analysis"))),
          file.path(out, "apiclus1_jk1_repweights.csv"), row.names = FALSE)
rcal <- calibrate(rclus1, ~stype, pop_stype)
rrak <- calibrate(rclus1, ~stype + sch.wide, pop_rake, calfun = "raking", epsilon = eps, maxit = 200)
set.seed(20170301)
bstrat <- as.svrepdesign(dstrat, type = "subbootstrap", replicates = 50)
write.csv(data.frame(snum = apistrat$snum, full(weights(bstrat, "analysis"))),
          file.path(out, "apistrat_subboot_repweights.csv"), row.names = FALSE)
bcal <- calibrate(bstrat, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018,
                  sch.wideYes = 5122), calfun = "raking", epsilon = eps, maxit = 200)
reps <- list(
  jk1_none = list(d = rclus1, call = "as.svrepdesign(dclus1, type='JK1')"),
  jk1_linear_stype = list(d = rcal, call = "calibrate(as.svrepdesign(dclus1, type='JK1'), ~stype, pop)"),
  jk1_raking_stype_schwide = list(d = rrak, call = "calibrate(as.svrepdesign(dclus1, type='JK1'), ~stype+sch.wide, pop, calfun='raking')"),
  subboot_none = list(d = bstrat, call = "as.svrepdesign(dstrat, type='subbootstrap', replicates=50) after set.seed(20170301)"),
  subboot_raking_stype_schwide = list(d = bcal, call = "calibrate(<subbootstrap dstrat>, ~stype+sch.wide, pop, calfun='raking')"))
for (name in names(reps)) {
  d <- reps[[name]]$d; call <- reps[[name]]$call
  m <- svymean(~api00, d); t <- svytotal(~enroll, d)
  erows[[length(erows) + 1]] <- rbind(
    est(name, "mean", "api00", "", coef(m), SE(m), paste0("svymean(~api00, ", call, ")")),
    est(name, "total", "enroll", "", coef(t), SE(t), paste0("svytotal(~enroll, ", call, ")")),
    est(name, "scale", "", "", d$scale, NA, paste0(call, "$scale")))
  wrows[[name]] <- data.frame(fixture = name, snum = d$variables$snum,
                              weight = sprintf("%.17g", weights(d, "sampling")))
}
write.csv(do.call(rbind, wrows), file.path(out, "survey_weights.csv"), row.names = FALSE)
write.csv(do.call(rbind, erows), file.path(out, "survey_estimates.csv"), row.names = FALSE)
cat("wrote survey fixtures\n")

# ---------------------------------------------------------------------------------------------
# 3. Comparison of groups: differences of domain means, Rao-Scott tests, rank tests,
#    proportional-odds and linear regression, on the api data.
crows <- list()
cmp <- function(name, quantity, value, call) {
  data.frame(fixture = name, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
}
# two independent samples: the E and H strata of apistrat
dEH <- subset(dstrat, stype %in% c("E", "H"))
b <- svyby(~api00, ~stype, dEH, svymean, covmat = TRUE)
ct <- svycontrast(b, c(E = 1, H = -1))
tt <- svyttest(api00 ~ stype, dEH)
rk <- svyranktest(api00 ~ stype, dEH)
rkm <- svyranktest(api00 ~ stype, dEH, test = "median")
rkv <- svyranktest(api00 ~ stype, dEH, test = "vanderWaerden")
crows[[length(crows) + 1]] <- rbind(
  cmp("EH", "diff_estimate", coef(ct), "svycontrast(svyby(~api00, ~stype, subset(dstrat, stype %in% c('E','H')), svymean, covmat=TRUE), c(E=1, H=-1))"),
  cmp("EH", "diff_se", SE(ct), "SE(same)"),
  cmp("EH", "ttest_t", tt$statistic, "svyttest(api00~stype, dEH)$statistic"),
  cmp("EH", "ttest_df", tt$parameter, "svyttest(api00~stype, dEH)$parameter"),
  cmp("EH", "ttest_p", tt$p.value, "svyttest(api00~stype, dEH)$p.value"),
  cmp("EH", "rank_wilcoxon_t", rk$statistic, "svyranktest(api00~stype, dEH)$statistic"),
  cmp("EH", "rank_wilcoxon_df", rk$parameter, "svyranktest(api00~stype, dEH)$parameter"),
  cmp("EH", "rank_wilcoxon_p", rk$p.value, "svyranktest(api00~stype, dEH)$p.value"),
  cmp("EH", "rank_wilcoxon_estimate", rk$estimate, "svyranktest(api00~stype, dEH)$estimate"),
  cmp("EH", "rank_median_p", rkm$p.value, "svyranktest(api00~stype, dEH, test='median')$p.value"),
  cmp("EH", "rank_vdw_t", rkv$statistic, "svyranktest(api00~stype, dEH, test='vanderWaerden')$statistic"))

# Rao-Scott second-order F and first-order chi-square
chi <- list(
  list(name = "chisq_clus1", d = dclus1, f = ~sch.wide + stype, call = "svychisq(~sch.wide+stype, dclus1"),
  list(name = "chisq_strat", d = dstrat, f = ~sch.wide + stype, call = "svychisq(~sch.wide+stype, dstrat"),
  list(name = "chisq_clus1_cal", d = cals$raking_stype_schwide$design, f = ~comp.imp + stype,
       call = "svychisq(~comp.imp+stype, calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking')"),
  list(name = "chisq_EH_awards", d = {x <- dEH; x$variables$stype <- droplevels(x$variables$stype); x},
       f = ~awards + stype, call = "svychisq(~awards+stype, droplevels(dEH)"))
for (cc in chi) {
  f <- svychisq(cc$f, cc$d, statistic = "F")
  x <- svychisq(cc$f, cc$d, statistic = "Chisq")
  crows[[length(crows) + 1]] <- rbind(
    cmp(cc$name, "F", f$statistic, paste0(cc$call, ", statistic='F')$statistic")),
    cmp(cc$name, "ndf", f$parameter[1], paste0(cc$call, ", statistic='F')$parameter[1]")),
    cmp(cc$name, "ddf", f$parameter[2], paste0(cc$call, ", statistic='F')$parameter[2]")),
    cmp(cc$name, "p_F", f$p.value, paste0(cc$call, ", statistic='F')$p.value")),
    cmp(cc$name, "X2", x$statistic, paste0(cc$call, ", statistic='Chisq')$statistic")),
    cmp(cc$name, "p_Chisq", x$p.value, paste0(cc$call, ", statistic='Chisq')$p.value")))
}

# survey-weighted linear regression (linearised) and a Wald test of a factor
g1 <- svyglm(api00 ~ ell + meals + mobility, dstrat)
g2 <- svyglm(api00 ~ stype + ell, dstrat)
rt <- regTermTest(g2, ~stype)
crows[[length(crows) + 1]] <- rbind(
  cmp("glm1", paste0("coef_", names(coef(g1))), coef(g1), "coef(svyglm(api00 ~ ell + meals + mobility, dstrat))"),
  cmp("glm1", paste0("se_", names(coef(g1))), SE(g1), "SE(svyglm(api00 ~ ell + meals + mobility, dstrat))"),
  cmp("glm2", paste0("coef_", names(coef(g2))), coef(g2), "coef(svyglm(api00 ~ stype + ell, dstrat))"),
  cmp("glm2", paste0("se_", names(coef(g2))), SE(g2), "SE(svyglm(api00 ~ stype + ell, dstrat))"),
  cmp("glm2", "wald_F", rt$Ftest, "regTermTest(svyglm(api00~stype+ell, dstrat), ~stype)$Ftest"),
  cmp("glm2", "wald_df", rt$df, "regTermTest(...)$df"),
  cmp("glm2", "wald_ddf", rt$ddf, "regTermTest(...)$ddf"),
  cmp("glm2", "wald_p", rt$p, "regTermTest(...)$p"))
# the same regression with JK1 replicate weights
gr <- svyglm(api00 ~ stype + ell, as.svrepdesign(dclus1, type = "JK1"))
crows[[length(crows) + 1]] <- rbind(
  cmp("glm_jk1", paste0("coef_", names(coef(gr))), coef(gr), "coef(svyglm(api00 ~ stype + ell, as.svrepdesign(dclus1, type='JK1')))"),
  cmp("glm_jk1", paste0("se_", names(coef(gr))), SE(gr), "SE(same)"))

# proportional-odds model, linearised and with JK1 replicate weights
dclus1o <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
ctlo <- list(reltol = 1e-14, maxit = 10000)    # optim (BFGS) to the optimum, not its default reltol 1e-8
o1 <- svyolr(mealcat ~ avg.ed + mobility + stype, dclus1o, control = ctlo)
o2 <- svyolr(mealcat ~ avg.ed + mobility + stype, as.svrepdesign(dclus1o, type = "JK1"), control = ctlo)
crows[[length(crows) + 1]] <- rbind(
  cmp("olr", paste0("coef_", names(coef(o1))), coef(o1), "coef(svyolr(mealcat ~ avg.ed + mobility + stype, dclus1, control = list(reltol = 1e-14)))"),
  cmp("olr", paste0("se_", names(coef(o1))), SE(o1), "SE(svyolr(mealcat ~ avg.ed + mobility + stype, dclus1, control = list(reltol = 1e-14)))"),
  cmp("olr_jk1", paste0("coef_", names(coef(o2))), coef(o2), "coef(svyolr(..., as.svrepdesign(dclus1, type='JK1'), control = list(reltol = 1e-14)))"),
  cmp("olr_jk1", paste0("se_", names(coef(o2))), SE(o2), "SE(svyolr(..., as.svrepdesign(dclus1, type='JK1'), control = list(reltol = 1e-14)))"))
# categorical covariates only: few distinct (covariates, response) patterns, which the fit aggregates
o3 <- svyolr(mealcat ~ stype + awards, dclus1o, control = ctlo)
o4 <- svyolr(mealcat ~ stype + awards, as.svrepdesign(dclus1o, type = "JK1"), control = ctlo)
crows[[length(crows) + 1]] <- rbind(
  cmp("olr_cat", paste0("coef_", names(coef(o3))), coef(o3), "coef(svyolr(mealcat ~ stype + awards, dclus1, control = list(reltol = 1e-14)))"),
  cmp("olr_cat", paste0("se_", names(coef(o3))), SE(o3), "SE(svyolr(mealcat ~ stype + awards, dclus1, control = list(reltol = 1e-14)))"),
  cmp("olr_cat_jk1", paste0("coef_", names(coef(o4))), coef(o4), "coef(svyolr(..., as.svrepdesign(dclus1, type='JK1'), control = list(reltol = 1e-14)))"),
  cmp("olr_cat_jk1", paste0("se_", names(coef(o4))), SE(o4), "SE(svyolr(..., as.svrepdesign(dclus1, type='JK1'), control = list(reltol = 1e-14)))"))
# the degrees of freedom of a proportional-odds fit (its p-values and intervals use them)
crows[[length(crows) + 1]] <- rbind(
  cmp("olr", "df_residual", o1$df.residual, "svyolr(mealcat ~ avg.ed + mobility + stype, dclus1)$df.residual"),
  cmp("olr_jk1", "df_residual", o2$df.residual, "svyolr(..., as.svrepdesign(dclus1, type='JK1'))$df.residual"))
# two domains that share PSUs: the covariance of their means enters the difference's variance
bc <- svyby(~api00, ~comp.imp, dclus1, svymean, covmat = TRUE)
cc1 <- svycontrast(bc, c(No = 1, Yes = -1))
tc <- svyttest(api00 ~ comp.imp, dclus1)
crows[[length(crows) + 1]] <- rbind(
  cmp("clus1_compimp", "diff_estimate", coef(cc1), "svycontrast(svyby(~api00, ~comp.imp, dclus1, svymean, covmat=TRUE), c(No=1, Yes=-1))"),
  cmp("clus1_compimp", "diff_se", SE(cc1), "SE(same)"),
  cmp("clus1_compimp", "ttest_t", tc$statistic, "svyttest(api00~comp.imp, dclus1)$statistic"),
  cmp("clus1_compimp", "ttest_df", tc$parameter, "svyttest(api00~comp.imp, dclus1)$parameter"),
  cmp("clus1_compimp", "ttest_p", tc$p.value, "svyttest(api00~comp.imp, dclus1)$p.value"))
# two groups of three, the third in PSUs of its own: the test's denominator df are the two groups' PSUs
a3 <- apiclus1
a3$grp <- ifelse(a3$dnum %in% c(716, 637), "c", ifelse(a3$stype == "E", "a", "b"))
a3$wide <- as.numeric(a3$sch.wide == "Yes")
d3 <- subset(svydesign(id = ~dnum, weights = ~pw, data = a3, fpc = ~fpc), grp %in% c("a", "b"))
f3 <- svychisq(~sch.wide + grp, d3, statistic = "F")
t3 <- svyttest(wide ~ grp, d3)
crows[[length(crows) + 1]] <- rbind(
  cmp("ttest_two_of_three", "t", t3$statistic, "svyttest(wide~grp, subset(dclus1 with grp, grp %in% c('a','b')))$statistic"),
  cmp("ttest_two_of_three", "df", t3$parameter, "svyttest(wide~grp, subset(...))$parameter"))
# a PSU whose answers are all missing: svychisq keeps the whole design's df
na1 <- apiclus1
na1$sch.wide[na1$dnum == 637] <- NA
f4 <- svychisq(~sch.wide + stype, svydesign(id = ~dnum, weights = ~pw, data = na1, fpc = ~fpc), statistic = "F")
for (x in list(list("chisq_two_of_three", f3, "svychisq(~sch.wide+grp, subset(dclus1 with grp, grp %in% c('a','b')), statistic='F')"),
               list("chisq_psu_missing", f4, "svychisq(~sch.wide+stype, dclus1 with sch.wide NA in dnum 637, statistic='F')"))) {
  crows[[length(crows) + 1]] <- rbind(
    cmp(x[[1]], "F", x[[2]]$statistic, paste0(x[[3]], "$statistic")),
    cmp(x[[1]], "ndf", x[[2]]$parameter[1], paste0(x[[3]], "$parameter[1]")),
    cmp(x[[1]], "ddf", x[[2]]$parameter[2], paste0(x[[3]], "$parameter[2]")),
    cmp(x[[1]], "p_F", x[[2]]$p.value, paste0(x[[3]], "$p.value")))
}
write.csv(do.call(rbind, crows), file.path(out, "compare.csv"), row.names = FALSE)
cat("wrote comparison fixtures\n")

# ---------------------------------------------------------------------------------------------
# 4. Our own simulated survey (« données simulées »): the resident respondents with their
#    non-response-adjusted weights, calibrated with R to the INSEE/frame margins
#    (fixture written by tests/reference/export_simulated_fixture.py after `make`).
sim <- read.csv(file.path(out, "simulated_residents.csv"), colClasses = c(id = "character", psu = "character",
                stratum = "character", cell = "character", departement = "character", size_class = "character",
                age = "character"))
mar <- read.csv(file.path(out, "simulated_residents_margins.csv"), colClasses = c(level = "character"))
sim$respondent <- sim$respondent == "True"
sim$cell[!sim$respondent] <- NA
sim$cell <- factor(sim$cell, levels = sort(unique(na.omit(sim$cell))))
sim$departement <- factor(sim$departement, levels = sort(unique(sim$departement)))
sim$size_class <- factor(sim$size_class, levels = sort(unique(sim$size_class)))
# the design of every sampled unit, then the respondents: R keeps the full PSU structure for the variance
dsim <- subset(svydesign(id = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~w_nr, data = sim), respondent)
pop_of <- function(var) {
  m <- mar[mar$margin == var, ]
  m <- m[order(m$level), ]
  setNames(m$total[-1], paste0(var, m$level[-1]))
}
total <- sum(mar$total[mar$margin == "cell"])
pop_sim <- c(`(Intercept)` = total, pop_of("cell"), pop_of("departement"), pop_of("size_class"))
scal <- list(
  sim_linear = calibrate(dsim, ~cell + departement + size_class, pop_sim, calfun = "linear"),
  sim_raking = calibrate(dsim, ~cell + departement + size_class, pop_sim, calfun = "raking", epsilon = eps, maxit = 200),
  sim_logit = calibrate(dsim, ~cell + departement + size_class, pop_sim, calfun = "logit", bounds = c(0.3, 3),
                        epsilon = eps, maxit = 200))
srows <- list(); swts <- list()
for (name in names(scal)) {
  d <- scal[[name]]
  call <- sprintf("calibrate(svydesign(id=~psu, strata=~stratum, fpc=~fpc, weights=~w_nr, data=sim), ~cell+departement+size_class, pop, calfun='%s')",
                  sub("sim_", "", name))
  swts[[name]] <- data.frame(fixture = name, id = d$variables$id, weight = sprintf("%.17g", weights(d)))
  m <- svymean(~image_globale, d, na.rm = TRUE)
  r <- svymean(~recommandation, d, na.rm = TRUE)
  p <- svymean(~conviviale_top2, d, na.rm = TRUE)
  t <- svytotal(~conviviale_top2, d, na.rm = TRUE)
  b <- svyby(~image_globale, ~age, d, svymean, na.rm = TRUE)
  srows[[length(srows) + 1]] <- rbind(
    est(name, "mean", "image_globale", "", coef(m), SE(m), paste0("svymean(~image_globale, ", call, ", na.rm=TRUE)")),
    est(name, "mean", "recommandation", "", coef(r), SE(r), paste0("svymean(~recommandation, ", call, ", na.rm=TRUE)")),
    est(name, "mean", "conviviale_top2", "", coef(p), SE(p), paste0("svymean(~conviviale_top2, ", call, ", na.rm=TRUE)")),
    est(name, "total", "conviviale_top2", "", coef(t), SE(t), paste0("svytotal(~conviviale_top2, ", call, ", na.rm=TRUE)")),
    est(name, "mean", "image_globale", paste0("age=", b$age), b$image_globale, b$se,
        paste0("svyby(~image_globale, ~age, ", call, ", svymean, na.rm=TRUE)")))
}
write.csv(do.call(rbind, swts), file.path(out, "simulated_weights.csv"), row.names = FALSE)
write.csv(do.call(rbind, srows), file.path(out, "simulated_estimates.csv"), row.names = FALSE)
cat("wrote simulated-survey fixtures\n")

# ---------------------------------------------------------------------------------------------
# 5. Replicate generator and correspondence analysis.
#    JKn (deterministic) on the stratified apistrat design, with its fpc: replicate weights, scale and
#    rscales as R's as.svrepdesign builds them.
rjkn <- as.svrepdesign(dstrat, type = "JKn")
write.csv(data.frame(snum = apistrat$snum, full(weights(rjkn, "analysis"))),
          file.path(out, "apistrat_jkn_repweights.csv"), row.names = FALSE)
mj <- svymean(~api00, rjkn)
write.csv(data.frame(statistic = c("scale", "mean", "se"),
                     value = sprintf("%.17g", c(rjkn$scale, coef(mj), SE(mj))),
                     r_call = c("as.svrepdesign(dstrat, type='JKn')$scale",
                                "svymean(~api00, as.svrepdesign(dstrat, type='JKn'))",
                                "SE(svymean(~api00, as.svrepdesign(dstrat, type='JKn')))")),
          file.path(out, "apistrat_jkn_estimates.csv"), row.names = FALSE)
write.csv(data.frame(replicate = seq_along(rjkn$rscales), rscale = sprintf("%.17g", rjkn$rscales)),
          file.path(out, "apistrat_jkn_rscales.csv"), row.names = FALSE)

#    Correspondence analysis of a 5 x 4 table with MASS::corresp (3 dimensions): canonical
#    correlations (singular values) and standard row and column scores.
suppressPackageStartupMessages(library(MASS))
write(paste("MASS", packageVersion("MASS")), file.path(out, "VERSIONS.txt"), append = TRUE)
tab <- matrix(c(30, 10, 5, 8, 10, 30, 10, 12, 5, 10, 40, 9, 20, 20, 20, 25, 7, 15, 3, 30), nrow = 5, byrow = TRUE,
              dimnames = list(paste0("r", 1:5), paste0("c", 1:4)))
ca <- corresp(tab, nf = 3)
carows <- rbind(
  data.frame(kind = "table", name = rep(rownames(tab), 4), dim = rep(colnames(tab), each = 5), value = c(tab)),
  data.frame(kind = "cor", name = "", dim = paste0("dim", 1:3), value = sprintf("%.17g", ca$cor)),
  data.frame(kind = "rscore", name = rep(rownames(tab), 3), dim = rep(paste0("dim", 1:3), each = 5),
             value = sprintf("%.17g", c(ca$rscore))),
  data.frame(kind = "cscore", name = rep(colnames(tab), 3), dim = rep(paste0("dim", 1:3), each = 4),
             value = sprintf("%.17g", c(ca$cscore))))
carows$r_call <- "MASS::corresp(tab, nf = 3)"
write.csv(carows, file.path(out, "corresp.csv"), row.names = FALSE)
cat("wrote JKn and correspondence-analysis fixtures\n")

#    Fisher-z confidence interval of a correlation: cor.test (Pearson) on the api data.
ct <- cor.test(apistrat$api00, apistrat$api99)
ct2 <- cor.test(apiclus1$api00[1:20], apiclus1$meals[1:20], conf.level = 0.9)
write.csv(data.frame(case = c("apistrat api00~api99", "apiclus1[1:20] api00~meals"),
                     r = sprintf("%.17g", c(ct$estimate, ct2$estimate)), n = c(nrow(apistrat), 20),
                     level = c(0.95, 0.9),
                     low = sprintf("%.17g", c(ct$conf.int[1], ct2$conf.int[1])),
                     high = sprintf("%.17g", c(ct$conf.int[2], ct2$conf.int[2])),
                     r_call = c("cor.test(apistrat$api00, apistrat$api99)",
                                "cor.test(apiclus1$api00[1:20], apiclus1$meals[1:20], conf.level = 0.9)")),
          file.path(out, "cor_test.csv"), row.names = FALSE)
cat("wrote cor.test fixture\n")
