#!/usr/bin/env Rscript
# Reference values for the engine's generalised linear models and quantiles (R survey), on the api
# data as tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_models.R
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_models.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "models_PROVENANCE.txt"))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
ctl <- glm.control(epsilon = 1e-13, maxit = 100)   # converge far beyond glm's default 1e-8
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
rows <- list()
fits <- list(
  logit_strat = list(svyglm(I(sch.wide == "Yes") ~ ell + meals + stype, dstrat, family = quasibinomial(), control = ctl),
                     "svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dstrat, family=quasibinomial())"),
  logit_binomial = list(suppressWarnings(svyglm(I(sch.wide == "Yes") ~ ell + meals + stype, dstrat, family = binomial(),
                                                control = ctl)),
                        "svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dstrat, family=binomial())"),
  logit_clus1 = list(svyglm(I(comp.imp == "Yes") ~ api99 + stype, dclus1, family = quasibinomial(), control = ctl),
                     "svyglm(I(comp.imp=='Yes') ~ api99 + stype, dclus1, family=quasibinomial())"),
  poisson_strat = list(svyglm(enroll ~ stype + meals, dstrat, family = quasipoisson(), control = ctl),
                       "svyglm(enroll ~ stype + meals, dstrat, family=quasipoisson())"),
  logit_jk1 = list(svyglm(I(sch.wide == "Yes") ~ ell + stype, rclus1, family = quasibinomial(), control = ctl),
                   "svyglm(I(sch.wide=='Yes') ~ ell + stype, as.svrepdesign(dclus1, type='JK1'), family=quasibinomial())"),
  # two schools at weight 0, as the study's files keep non-respondents (an audit: the engine's Newton start missed
  # the intercept on the zeroed rows and diverged)
  poisson_zero = list(svyglm(enroll ~ stype + meals,
                             svydesign(id = ~1, strata = ~stype, weights = ~pw0, fpc = ~fpc,
                                       data = transform(apistrat, pw0 = ifelse(seq_along(pw) %in% c(3, 50), 0, pw))),
                             family = quasipoisson(), control = ctl),
                      "svyglm(enroll ~ stype + meals, dstrat with pw = 0 in rows 3 and 50, family=quasipoisson())"),
  # offsets: a rate (English learners per student enrolled) as a Poisson model of counts with log exposure, a
  # gaussian model of the change since 1999, and a replicate design
  poisson_offset = list(svyglm(I(ell * enroll / 100) ~ stype + meals + offset(log(enroll)), dstrat, family = quasipoisson(),
                               control = ctl),
                        "svyglm(I(ell * enroll / 100) ~ stype + meals + offset(log(enroll)), dstrat, family=quasipoisson())"),
  gauss_offset = list(svyglm(api00 ~ ell + meals + offset(api99), dclus1),
                      "svyglm(api00 ~ ell + meals + offset(api99), dclus1)"),
  poisson_offset_jk1 = list(svyglm(I(ell * enroll / 100) ~ stype + meals, rclus1, offset = log(enroll), family = quasipoisson(),
                                   control = ctl),
                            "svyglm(I(ell * enroll / 100) ~ stype + meals, as.svrepdesign(dclus1, type='JK1'), offset=log(enroll), family=quasipoisson())"))
for (name in names(fits)) {
  g <- fits[[name]][[1]]
  call <- fits[[name]][[2]]
  rows[[length(rows) + 1]] <- rbind(
    cmp(name, paste0("coef_", names(coef(g))), coef(g), paste0("coef(", call, ")")),
    cmp(name, paste0("se_", names(coef(g))), SE(g), paste0("SE(", call, ")")),
    cmp(name, "df_residual", g$df.residual, paste0(call, "$df.residual")))
}
# proportional-odds models with the other links of svyolr (its « cloglog » is survey's pgumbel, exp(-exp(-x))),
# linearised; optim run to the optimum (reltol 1e-14), as make_fixtures.R does for the logistic ones. Not with
# replicate weights: svyolr.svyrep.design refits every replicate with polr's default logistic link (survey 4.1.1)
dclus1o <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
ctlo <- list(reltol = 1e-14, maxit = 10000)
for (m in c("probit", "cloglog", "cauchit")) {
  o <- svyolr(mealcat ~ avg.ed + mobility + stype, dclus1o, method = m, control = ctlo)
  call <- paste0("svyolr(mealcat ~ avg.ed + mobility + stype, dclus1, method='", m, "', control=list(reltol=1e-14))")
  rows[[length(rows) + 1]] <- rbind(cmp(paste0("olr_", m), paste0("coef_", names(coef(o))), coef(o), paste0("coef(", call, ")")),
                                    cmp(paste0("olr_", m), paste0("se_", names(coef(o))), SE(o), paste0("SE(", call, ")")))
}
for (name in c("logit_strat", "poisson_strat", "poisson_offset")) {
  rt <- regTermTest(fits[[name]][[1]], ~stype)
  call <- paste0("regTermTest(", fits[[name]][[2]], ", ~stype)")
  rows[[length(rows) + 1]] <- rbind(cmp(name, "wald_F", rt$Ftest, paste0(call, "$Ftest")),
                                    cmp(name, "wald_df", rt$df, paste0(call, "$df")),
                                    cmp(name, "wald_ddf", rt$ddf, paste0(call, "$ddf")),
                                    cmp(name, "wald_p", rt$p, paste0(call, "$p")))
}

# quantiles with Woodruff (« mean ») confidence intervals, three quantile rules
qs <- list(
  list("q_strat_math", svyquantile(~api00, dstrat, c(0.1, 0.25, 0.5, 0.75, 0.9)), "svyquantile(~api00, dstrat, c(0.1,0.25,0.5,0.75,0.9))"),
  list("q_clus1_math", svyquantile(~ell, dclus1, c(0.25, 0.5, 0.9)), "svyquantile(~ell, dclus1, c(0.25,0.5,0.9))"),
  list("q_clus1_hf7", svyquantile(~api00, dclus1, c(0.25, 0.5), qrule = "hf7"), "svyquantile(~api00, dclus1, c(0.25,0.5), qrule='hf7')"),
  list("q_strat_school", svyquantile(~meals, dstrat, c(0.5, 0.8), qrule = "school", alpha = 0.1),
       "svyquantile(~meals, dstrat, c(0.5,0.8), qrule='school', alpha=0.1)"),
  # equal weights: p·Σw falls exactly on a step, where the math and school rules differ
  list("q_equal_math", svyquantile(~api00, deq <- svydesign(id = ~1, weights = ~one, data = transform(apistrat[1:40, ], one = 1)),
                                   c(0.25, 0.5)), "svyquantile(~api00, svydesign(id=~1, weights=~1, data=apistrat[1:40,]), c(0.25,0.5))"),
  list("q_equal_school", svyquantile(~api00, deq, c(0.25, 0.5), qrule = "school"),
       "svyquantile(~api00, svydesign(id=~1, weights=~1, data=apistrat[1:40,]), c(0.25,0.5), qrule='school')"),
  # the other interval types: the share below the quantile on the logit or arcsine scale, Korn-Graubard's beta,
  # and with replicate weights the quantile recomputed in every replicate (R warns for jackknives). On replicate
  # weights R's svyquantile does not pass interval.type to woodruffCI (survey 4.1.1): q_jk1_xlogit is its « mean »
  list("q_clus1_xlogit", svyquantile(~api00, dclus1, c(0.25, 0.5, 0.9), interval.type = "xlogit"),
       "svyquantile(~api00, dclus1, c(0.25,0.5,0.9), interval.type='xlogit')"),
  list("q_clus1_asin", svyquantile(~api00, dclus1, c(0.25, 0.5, 0.9), interval.type = "asin"),
       "svyquantile(~api00, dclus1, c(0.25,0.5,0.9), interval.type='asin')"),
  list("q_clus1_beta", svyquantile(~api00, dclus1, c(0.25, 0.5, 0.9), interval.type = "beta"),
       "svyquantile(~api00, dclus1, c(0.25,0.5,0.9), interval.type='beta')"),
  list("q_strat_beta", svyquantile(~meals, dstrat, c(0.1, 0.5), interval.type = "beta", qrule = "school"),
       "svyquantile(~meals, dstrat, c(0.1,0.5), interval.type='beta', qrule='school')"),
  list("q_jk1_quantile", suppressWarnings(svyquantile(~api00, rclus1, c(0.25, 0.5), interval.type = "quantile")),
       "svyquantile(~api00, as.svrepdesign(dclus1, type='JK1'), c(0.25,0.5), interval.type='quantile')"),
  list("q_jk1_xlogit", svyquantile(~api00, rclus1, c(0.25, 0.5), interval.type = "xlogit"),
       "svyquantile(~api00, as.svrepdesign(dclus1, type='JK1'), c(0.25,0.5), interval.type='xlogit')"))
# domains: each school type of the cluster sample, as svyby(~api00, ~stype, dclus1, svyquantile, …) computes them
# (a subset keeps every PSU in the design; its degrees of freedom count the PSUs holding the domain)
for (st in c("E", "H", "M")) {
  qs[[length(qs) + 1]] <- list(paste0("q_clus1_", st), svyquantile(~api00, subset(dclus1, stype == st), c(0.25, 0.5)),
                               paste0("svyquantile(~api00, subset(dclus1, stype == '", st, "'), c(0.25,0.5))"))
}
# a domain some replicates leave without any unit: the schools that replicates 1 and 2 of make_fixtures.R's seeded
# subbootstrap of dstrat (apistrat_subboot_repweights.csv) both leave out, as svyby(~api00, ~g, rb, svyquantile)
# computes it. R's svrVar discards those 2 replicates from the variance of the domain's share below the quantile
# (Woodruff's interval), with a warning; with interval.type = "quantile" R fails (its qrule on weights all 0)
bw <- read.csv(file.path(out, "apistrat_subboot_repweights.csv"))
bw <- as.matrix(bw[match(apistrat$snum, bw$snum), -1])
rb <- svrepdesign(data = transform(apistrat, g = ifelse(bw[, 1] == 0 & bw[, 2] == 0, "out", "in")), repweights = bw,
                  weights = ~pw, type = "bootstrap", combined.weights = TRUE)
rbcall <- "svrepdesign(apistrat, repweights = subbootstrap weights, weights = ~pw, type = 'bootstrap')"
for (gg in c("in", "out")) for (qr in c("math", "hf7")) {
  qs[[length(qs) + 1]] <- list(paste0("q_subboot_", gg, "_", qr),
                               suppressWarnings(svyquantile(~api00, subset(rb, g == gg), c(0.25, 0.5, 0.9), qrule = qr)),
                               paste0("svyquantile(~api00, subset(", rbcall, ", g == '", gg, "'), c(0.25,0.5,0.9), qrule='",
                                      qr, "')"))
}
mout <- suppressWarnings(svymean(~api00, subset(rb, g == "out")))
rows[[length(rows) + 1]] <- rbind(
  cmp("q_subboot_out", "replicates_discarded", length(attr(attr(mout, "var"), "na.replicates")),
      paste0("length(attr(vcov(svymean(~api00, subset(", rbcall, ", g == 'out'))), 'na.replicates'))")),
  cmp("q_subboot_out", "quantile_interval_fails",
      inherits(try(svyquantile(~api00, subset(rb, g == "out"), 0.5, interval.type = "quantile"), silent = TRUE),
               "try-error"),
      paste0("inherits(try(svyquantile(~api00, subset(", rbcall, ", g == 'out'), 0.5, interval.type='quantile')), ",
             "'try-error')")))
for (q in qs) {
  m <- q[[2]][[1]]
  for (i in seq_len(nrow(m))) {
    p <- rownames(m)[i]
    rows[[length(rows) + 1]] <- rbind(
      cmp(q[[1]], paste0("quantile_", p), m[i, 1], q[[3]]), cmp(q[[1]], paste0("low_", p), m[i, 2], q[[3]]),
      cmp(q[[1]], paste0("high_", p), m[i, 3], q[[3]]), cmp(q[[1]], paste0("se_", p), m[i, 4], q[[3]]))
  }
}
# Welch–Satterthwaite: the difference of two independent equal-weight samples is R's Welch t test
xw <- apistrat$api00[apistrat$stype == "E"]; yw <- apiclus1$api00
tw <- t.test(yw, xw, var.equal = FALSE)
wcall <- "t.test(apiclus1$api00, apistrat$api00[apistrat$stype == 'E'], var.equal = FALSE)"
rows[[length(rows) + 1]] <- rbind(
  cmp("welch", "difference", mean(yw) - mean(xw), paste0("mean difference of ", wcall)),
  cmp("welch", "t", tw$statistic, paste0(wcall, "$statistic")), cmp("welch", "df", tw$parameter, paste0(wcall, "$parameter")),
  cmp("welch", "p", tw$p.value, paste0(wcall, "$p.value")), cmp("welch", "ci_low", tw$conf.int[1], paste0(wcall, "$conf.int[1]")),
  cmp("welch", "ci_high", tw$conf.int[2], paste0(wcall, "$conf.int[2]")))
# lonely PSUs: apistrat with one school moved to a stratum of its own (population 10), every option of
# survey.lonely.psu, linearised and with JKn replicate weights
dl <- apistrat
dl$st <- as.character(dl$stype)
dl$st[dl$snum == dl$snum[1]] <- "X"
dl$N <- ifelse(dl$st == "X", 10, dl$fpc)
for (opt in c("certainty", "remove", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  des <- svydesign(id = ~1, strata = ~st, weights = ~pw, data = dl, fpc = ~N)
  m <- svymean(~api00, des); t <- svytotal(~enroll, des); mj <- svymean(~api00, as.svrepdesign(des, type = "JKn"))
  lcall <- paste0("options(survey.lonely.psu='", opt, "'); svydesign(id=~1, strata=~st, weights=~pw, data=dl, fpc=~N)")
  rows[[length(rows) + 1]] <- rbind(
    cmp(paste0("lonely_", opt), "mean_se", SE(m), paste0("SE(svymean(~api00, ...)) after ", lcall)),
    cmp(paste0("lonely_", opt), "total_se", SE(t), paste0("SE(svytotal(~enroll, ...)) after ", lcall)),
    cmp(paste0("lonely_", opt), "jkn_mean_se", SE(mj), paste0("SE(svymean(~api00, as.svrepdesign(..., type='JKn'))) after ", lcall)))
}
# ... and in domains: R's subset of a design without calibration drops the other rows, so a stratum without a unit of
# the domain is absent (no lonely PSU to fail on, not counted by "average"); a calibrated design keeps every row
other <- setdiff(unique(dl$sch.wide), dl$sch.wide[dl$st == "X"])     # the domain without the lonely school
for (opt in c("fail", "average")) {
  options(survey.lonely.psu = opt)
  des <- svydesign(id = ~1, strata = ~st, weights = ~pw, data = dl, fpc = ~N)
  dm <- svymean(~api00, subset(des, sch.wide == other))
  lcall <- paste0("options(survey.lonely.psu='", opt, "'); svymean(~api00, subset(des, sch.wide == '", other, "'))")
  rows[[length(rows) + 1]] <- cmp(paste0("lonely_domain_", opt), "mean_se", SE(dm), paste0("SE(", lcall, ")"))
}
options(survey.lonely.psu = "average")
des <- svydesign(id = ~1, strata = ~st, weights = ~pw, data = dl, fpc = ~N)
by_sw <- svyby(~api00, ~sch.wide, des, svymean)
pop_st <- c(`(Intercept)` = sum(dl$pw), stypeH = sum(dl$pw[dl$stype == "H"]), stypeM = sum(dl$pw[dl$stype == "M"]))
cal <- calibrate(des, ~stype, pop_st)
cm <- svymean(~api00, subset(cal, sch.wide == other))
rows[[length(rows) + 1]] <- rbind(
  cmp(paste0("lonely_by_average_", by_sw$sch.wide), "mean_se", SE(by_sw),
      "options(survey.lonely.psu='average'); SE(svyby(~api00, ~sch.wide, des, svymean))"),
  cmp("lonely_calibrated_domain_average", "mean_se", SE(cm),
      "options(survey.lonely.psu='average'); SE(svymean(~api00, subset(calibrate(des, ~stype, pop), sch.wide == other)))"))
# a subset taken before a calibration: its other rows are dropped for good, the lonely stratum they held stays absent
for (opt in c("average", "fail")) {
  options(survey.lonely.psu = opt)
  s <- subset(svydesign(id = ~1, strata = ~st, weights = ~pw, data = dl, fpc = ~N), sch.wide == other)
  tot <- c(`(Intercept)` = sum(weights(s)) * 1.1, stypeH = sum(weights(s)[s$variables$stype == "H"]) * 1.1,
           stypeM = sum(weights(s)[s$variables$stype == "M"]) * 1.1)
  sc <- svymean(~api00, calibrate(s, ~stype, tot))
  rows[[length(rows) + 1]] <- cmp(paste0("lonely_subset_calibrated_", opt), c("mean", "mean_se"), c(coef(sc), SE(sc)),
                                  paste0("options(survey.lonely.psu='", opt, "'); svymean(~api00, calibrate(subset(des, ",
                                         "sch.wide == other), ~stype, 1.1 × the subset's totals))"))
}
options(survey.lonely.psu = "fail")
# quantiles with R's score interval (interval.type = "score", survey's ffullerCI: Francisco and Fuller's test inverted
# by uniroot), one probability a call: where uniroot stops (« f() values at end points not of opposite sign »: the
# test does not change sign over the data's range) the bounds are NA. A cluster sample (equal weights: every bound
# falls on a step of the distribution function), a stratified one, both also on a scale finer than uniroot's
# tolerance, a stratified cluster one (the simulated residents, heavily tied 0-10 answers, na.rm), domains as svyby
# runs them (subset), and a calibrated design, whose subset keeps every row (R's x, its range and the share behind
# each bound then span the whole sample, a missing value read as 0)
sim <- read.csv(file.path(out, "simulated_residents.csv"), colClasses = c(id = "character", psu = "character",
                stratum = "character", cell = "character", departement = "character", size_class = "character",
                age = "character"))
dsim <- subset(svydesign(id = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~w_nr, data = sim), respondent == "True")
dcal_q <- calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069))
score <- function(fixture, formula, design, call, ps = c(0.1, 0.5, 0.9), ...) {
  do.call(rbind, lapply(ps, function(p) {
    m <- tryCatch(svyquantile(formula, design, p, interval.type = "score", ...)[[1]], error = function(e) rep(NA, 4))
    c2 <- paste0("svyquantile(", deparse(formula), ", ", call, ", ", p, ", interval.type='score'",
                 if (length(list(...))) paste0(", ", paste(names(list(...)), list(...), sep = "=", collapse = ", ")), ")")
    cmp(fixture, paste0(c("quantile_", "low_", "high_", "se_"), p), m[1:4], c2)
  }))
}
cal_call <- "calibrate(dclus1, ~stype+api99, pop)"
rows[[length(rows) + 1]] <- rbind(
  score("qs_clus1", ~api00, dclus1, "dclus1"),
  score("qs_strat", ~api00, dstrat, "dstrat"),
  # scores a ten-thousandth apart, closer than uniroot's tolerance: where the root lands among them is uniroot's own
  score("qs_clus1_scaled", ~I(api00 / 10000), dclus1, "dclus1"),
  score("qs_strat_scaled", ~I(api00 / 10000), dstrat, "dstrat"),
  score("qs_clus1_hf7", ~api00, dclus1, "dclus1", qrule = "hf7", alpha = 0.1),
  score("qs_clus1_avged", ~avg.ed, dclus1, "dclus1", na.rm = TRUE),
  score("qs_sim", ~recommandation, dsim, "subset(svydesign(id=~psu, strata=~stratum, fpc=~fpc, weights=~w_nr, data=sim), respondent)",
        na.rm = TRUE),
  score("qs_cal", ~api00, dcal_q, cal_call),
  score("qs_cal_avged", ~avg.ed, dcal_q, cal_call, na.rm = TRUE),
  do.call(rbind, lapply(c("E", "H", "M"), function(st) rbind(
    score(paste0("qs_clus1_", st), ~api00, subset(dclus1, stype == st), paste0("subset(dclus1, stype == '", st, "')")),
    score(paste0("qs_cal_", st), ~api00, subset(dcal_q, stype == st), paste0("subset(", cal_call, ", stype == '", st, "')"))))),
  do.call(rbind, lapply(as.character(1:5), function(a)
    score(paste0("qs_sim_", a), ~recommandation, subset(dsim, age == a), paste0("subset(dsim, age == '", a, "')"),
          na.rm = TRUE))))
# proportional-odds models with an offset: svyolr takes it as a formula term (offset(…) in the model frame; an
# offset= argument goes to optim, which refuses it), linearised and, through MASS::polr's own formula, in every
# JK1 refit (logistic, R's only link there)
for (m in c("logistic", "probit")) {
  o <- svyolr(mealcat ~ avg.ed + stype + offset(I(0.02 * ell)), dclus1o, method = m, control = ctlo)
  call <- paste0("svyolr(mealcat ~ avg.ed + stype + offset(I(0.02 * ell)), dclus1, method='", m, "', control=list(reltol=1e-14))")
  rows[[length(rows) + 1]] <- rbind(cmp(paste0("olr_offset_", m), paste0("coef_", names(coef(o))), coef(o), paste0("coef(", call, ")")),
                                    cmp(paste0("olr_offset_", m), paste0("se_", names(coef(o))), SE(o), paste0("SE(", call, ")")))
}
oj <- svyolr(mealcat ~ avg.ed + stype + offset(I(0.02 * ell)), as.svrepdesign(dclus1o, type = "JK1"), control = ctlo)
call <- "svyolr(mealcat ~ avg.ed + stype + offset(I(0.02 * ell)), as.svrepdesign(dclus1, type='JK1'), control=list(reltol=1e-14))"
rows[[length(rows) + 1]] <- rbind(cmp("olr_offset_jk1", paste0("coef_", names(coef(oj))), coef(oj), paste0("coef(", call, ")")),
                                  cmp("olr_offset_jk1", paste0("se_", names(coef(oj))), SE(oj), paste0("SE(", call, ")")))
# svyolr.svyrep.design passes control to its full-sample polr, not to the replicate refits (optim's reltol 1e-8
# there): its SEs stop ~1e-5 short. The same JK1 variance, its lines with control = ctlo passed to every refit too
rj <- as.svrepdesign(dclus1o, type = "JK1")
fj <- mealcat ~ avg.ed + stype + offset(I(0.02 * ell))
dfj <- model.frame(rj)
full <- suppressWarnings(MASS::polr(fj, data = dfj, weights = weights(rj, "sampling"), Hess = TRUE, control = ctlo))
startj <- c(full$coefficients, full$zeta)
betas <- apply(weights(rj, "analysis"), 2, function(w) {
  environment(fj) <- environment()
  m <- MASS::polr(fj, data = dfj, start = startj, weights = w, control = ctlo)
  c(m$coefficients, m$zeta)
})
vj <- svrVar(t(betas), rj$scale, rj$rscales, mse = rj$mse, coef = startj)
rows[[length(rows) + 1]] <- cmp("olr_offset_jk1_tight", paste0("se_", names(startj)), sqrt(diag(vj)),
                                "svrVar of MASS::polr(mealcat ~ avg.ed + stype + offset(I(0.02 * ell)), weights = each JK1 replicate's, control=list(reltol=1e-14)), as svyolr.svyrep.design computes it")
# a bare expression in offset(…), without I(): R evaluates it in the data as it does I(…)'s
ob <- svyolr(mealcat ~ avg.ed + stype + offset(0.02 * ell), dclus1o, control = ctlo)
call <- "svyolr(mealcat ~ avg.ed + stype + offset(0.02 * ell), dclus1, control=list(reltol=1e-14))"
gb <- svyglm(api00 ~ ell + meals + offset(0.9 * api99 - log(enroll)), dclus1)
gcall <- "svyglm(api00 ~ ell + meals + offset(0.9 * api99 - log(enroll)), dclus1)"
rows[[length(rows) + 1]] <- rbind(
  cmp("olr_offset_bare", paste0("coef_", names(coef(ob))), coef(ob), paste0("coef(", call, ")")),
  cmp("olr_offset_bare", paste0("se_", names(coef(ob))), SE(ob), paste0("SE(", call, ")")),
  cmp("gauss_offset_bare", paste0("coef_", names(coef(gb))), coef(gb), paste0("coef(", gcall, ")")),
  cmp("gauss_offset_bare", paste0("se_", names(coef(gb))), SE(gb), paste0("SE(", gcall, ")")),
  cmp("gauss_offset_bare", "df_residual", gb$df.residual, paste0(gcall, "$df.residual")))
# a comparison in offset(…): R's model.offset adds the logical as 0/1
gl <- svyglm(api00 ~ ell + offset(ell > 20), dclus1)
lcall <- "svyglm(api00 ~ ell + offset(ell > 20), dclus1)"
rows[[length(rows) + 1]] <- rbind(
  cmp("gauss_offset_logical", paste0("coef_", names(coef(gl))), coef(gl), paste0("coef(", lcall, ")")),
  cmp("gauss_offset_logical", paste0("se_", names(coef(gl))), SE(gl), paste0("SE(", lcall, ")")))
write.csv(do.call(rbind, rows), file.path(out, "models.csv"), row.names = FALSE)
cat("wrote", file.path(out, "models.csv"), "\n")

# Confidence intervals of proportions (svyciprop): logit (R's default), Korn–Graubard's beta, and the delta-method
# logit and arcsine intervals (xlogit, asin), whole
# sample, a calibrated design, a rare category, another level, JK1 replicates, and by domain as svyby
# runs them (on each domain's subset, with its degrees of freedom: R's default).
dcal <- calibrate(dclus1, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                  calfun = "raking", epsilon = 1e-13, maxit = 200)
ci_cases <- list(
  list("clus1_schwide", quote(I(sch.wide == "Yes")), dclus1, "dclus1", 0.95),
  list("clus1_H", quote(I(stype == "H")), dclus1, "dclus1", 0.95),
  list("clus1_H_90", quote(I(stype == "H")), dclus1, "dclus1", 0.90),
  list("cal_compimp", quote(I(comp.imp == "Yes")), dcal, "calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking')", 0.95),
  list("strat_awards", quote(I(awards == "Yes")), dstrat, "dstrat", 0.95),
  list("jk1_H", quote(I(stype == "H")), rclus1, "as.svrepdesign(dclus1, type='JK1')", 0.95))
ci <- list()
for (cc in ci_cases) {
  for (meth in c("logit", "beta", "xlogit", "asin")) {
    f <- as.formula(call("~", cc[[2]]))
    r <- svyciprop(f, cc[[3]], method = meth, level = cc[[5]])
    call <- paste0("svyciprop(~", deparse(cc[[2]]), ", ", cc[[4]], ", method='", meth, "', level=", cc[[5]], ")")
    ci[[length(ci) + 1]] <- rbind(
      cmp(cc[[1]], paste0(meth, "_estimate"), coef(r), call), cmp(cc[[1]], paste0(meth, "_se"), SE(r), call),
      cmp(cc[[1]], paste0(meth, "_low"), attr(r, "ci")[1], call), cmp(cc[[1]], paste0(meth, "_high"), attr(r, "ci")[2], call),
      cmp(cc[[1]], "degf", degf(cc[[3]]), paste0("degf(", cc[[4]], ")")))
  }
}
by_cases <- list(
  list("strat_awards_by_", quote(I(awards == "Yes")), ~stype, dstrat, "dstrat", "logit"),
  list("clus1_schwide_by_", quote(I(sch.wide == "Yes")), ~stype, dclus1, "dclus1", "logit"),
  list("clus1_schwide_by_", quote(I(sch.wide == "Yes")), ~stype, dclus1, "dclus1", "beta"),
  list("jk1_schwide_by_", quote(I(sch.wide == "Yes")), ~awards, rclus1, "as.svrepdesign(dclus1, type='JK1')", "logit"))
for (bc in by_cases) {
  b <- svyby(as.formula(call("~", bc[[2]])), bc[[3]], bc[[4]], svyciprop, method = bc[[6]], vartype = c("se", "ci"))
  bcall <- paste0("svyby(~", deparse(bc[[2]]), ", ", deparse(bc[[3]]), ", ", bc[[5]], ", svyciprop, method='", bc[[6]],
                  "', vartype=c('se','ci'))")
  dom <- paste0(bc[[1]], b[[1]])
  ci[[length(ci) + 1]] <- rbind(
    cmp(dom, paste0(bc[[6]], "_estimate"), b[[2]], bcall), cmp(dom, paste0(bc[[6]], "_se"), b$se, bcall),
    cmp(dom, paste0(bc[[6]], "_low"), b$ci_l, bcall), cmp(dom, paste0(bc[[6]], "_high"), b$ci_u, bcall),
    cmp(dom, "degf", sapply(as.character(b[[1]]), function(l) degf(bc[[4]][bc[[4]]$variables[[all.vars(bc[[3]])]] == l, ])),
        paste0("degf(subset(", bc[[5]], ", ", all.vars(bc[[3]]), " == level))")))
}
write.csv(do.call(rbind, ci), file.path(out, "ciprop.csv"), row.names = FALSE)
cat("wrote", file.path(out, "ciprop.csv"), "\n")

# Two-way interactions in svyglm (numeric × factor, factor × factor; gaussian and logistic; JK1) and
# regTermTest of an interaction term.
ia <- list(
  gauss_num_fac = list(svyglm(api00 ~ stype * ell + meals, dclus1),
                       "svyglm(api00 ~ stype * ell + meals, dclus1)", ~stype:ell),
  gauss_fac_fac = list(svyglm(api00 ~ stype * awards, dstrat),
                       "svyglm(api00 ~ stype * awards, dstrat)", ~stype:awards),
  logit_num_fac = list(svyglm(I(sch.wide == "Yes") ~ meals * stype, dstrat, family = quasibinomial(), control = ctl),
                       "svyglm(I(sch.wide=='Yes') ~ meals * stype, dstrat, family=quasibinomial())", ~meals:stype),
  fac3_fac3 = list(svyglm(api00 ~ stype * mealcat,
                          update(dstrat, mealcat = cut(meals, c(-1, 33, 66, 101), labels = c("low", "mid", "high")))),
                   "svyglm(api00 ~ stype * mealcat, update(dstrat, mealcat = cut(meals, c(-1, 33, 66, 101))))", ~stype:mealcat),
  jk1_num_num = list(svyglm(api00 ~ ell * meals, rclus1),
                     "svyglm(api00 ~ ell * meals, as.svrepdesign(dclus1, type='JK1'))", ~ell:meals))
irows <- list()
for (name in names(ia)) {
  g <- ia[[name]][[1]]; call <- ia[[name]][[2]]
  rt <- regTermTest(g, ia[[name]][[3]])
  irows[[length(irows) + 1]] <- rbind(
    cmp(name, paste0("coef_", names(coef(g))), coef(g), paste0("coef(", call, ")")),
    cmp(name, paste0("se_", names(coef(g))), SE(g), paste0("SE(", call, ")")),
    cmp(name, "wald_F", rt$Ftest, paste0("regTermTest(", call, ", ", deparse(ia[[name]][[3]]), ")$Ftest")),
    cmp(name, "wald_df", rt$df, "regTermTest(...)$df"), cmp(name, "wald_ddf", rt$ddf, "regTermTest(...)$ddf"),
    cmp(name, "wald_p", rt$p, "regTermTest(...)$p"))
}
dclus1o <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
o <- svyolr(mealcat ~ mobility * stype, dclus1o, control = list(reltol = 1e-14, maxit = 10000))   # optim to the optimum
irows[[length(irows) + 1]] <- rbind(
  cmp("olr_num_fac", paste0("coef_", names(coef(o))), coef(o), "coef(svyolr(mealcat ~ mobility * stype, dclus1, control = list(reltol = 1e-14)))"),
  cmp("olr_num_fac", paste0("se_", names(coef(o))), SE(o), "SE(svyolr(mealcat ~ mobility * stype, dclus1, control = list(reltol = 1e-14)))"))
write.csv(do.call(rbind, irows), file.path(out, "interactions.csv"), row.names = FALSE)
cat("wrote", file.path(out, "interactions.csv"), "\n")

# A design of ready-made replicate weights only (svrepdesign: no PSUs or strata of its own), built from the
# JK1 weights of dclus1 that make_fixtures.R writes (apiclus1_jk1_repweights.csv): its variances come from the
# replicates, and its degrees of freedom are the rank of the replicate weights minus one.
jk <- read.csv(file.path(out, "apiclus1_jk1_repweights.csv"))
jk <- as.matrix(jk[match(apiclus1$snum, jk$snum), -1])
rd <- svrepdesign(data = apiclus1, repweights = jk, weights = ~pw, type = "other", scale = rclus1$scale,
                  rscales = rclus1$rscales, combined.weights = TRUE)
rdcall <- "svrepdesign(apiclus1, repweights = JK1 weights, weights = ~pw, type = 'other', scale, rscales)"
m <- svymean(~api00, rd)
q <- svyquantile(~api00, rd, 0.5, ci = TRUE)
g <- svyglm(api00 ~ ell + stype, rd)
ch <- svychisq(~sch.wide + stype, rd)
cp <- svyby(~I(sch.wide == "Yes"), ~awards, rd, svyciprop, method = "logit", vartype = "ci")
# svyranktest on replicates: svytotal of the influence values with the replicate weights (ranks not recomputed);
# on rd by default, and on JK1 replicates of a raking whose every replicate is calibrated again
rk <- svyranktest(api00 ~ sch.wide, rd)
rkm <- svyranktest(api00 ~ sch.wide, rd, test = "median")
rkc <- svyranktest(api00 ~ sch.wide, calibrate(rclus1, ~stype, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018),
                                               calfun = "raking", epsilon = 1e-13, maxit = 200))
rkrow <- function(fixture, k, call)
  cmp(fixture, c("t", "df", "p", "estimate"), c(k$statistic, k$parameter, k$p.value, k$estimate),
      paste0(call, c("$statistic", "$parameter", "$p.value", "$estimate")))
# R calibrates every replicate of a svrepdesign again (postStratify and calibrate of a svyrep.design)
pst <- postStratify(rd, ~stype, data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)))
cal <- calibrate(rd, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069),
                 compress = FALSE)
srows <- rbind(
  cmp("svrep_post", c("se_api00", "se_enroll"), c(SE(svymean(~api00, pst)), SE(svytotal(~enroll, pst))),
      c("SE(svymean(~api00, postStratify(rd, ~stype, pop)))", "SE(svytotal(~enroll, postStratify(rd, ~stype, pop)))")),
  cmp("svrep_cal", c("se_api00", "se_enroll"), c(SE(svymean(~api00, cal)), SE(svytotal(~enroll, cal))),
      c("SE(svymean(~api00, calibrate(rd, ~stype + api99, pop)))", "SE(svytotal(~enroll, calibrate(rd, ~stype + api99, pop)))")),
  cmp("svrep", "degf", degf(rd), paste0("degf(", rdcall, ")")),
  cmp("svrep", "mean_api00", coef(m), paste0("svymean(~api00, rd)")),
  cmp("svrep", "se_api00", SE(m), "SE(svymean(~api00, rd))"),
  cmp("svrep", c("ci_low_api00", "ci_high_api00"), confint(m, df = degf(rd)), "confint(svymean(~api00, rd), df = degf(rd))"),
  cmp("svrep", c("median_low", "median_high"), confint(q), "confint(svyquantile(~api00, rd, 0.5, ci = TRUE))"),
  cmp("svrep", paste0("glm_se_", names(coef(g))), SE(g), "SE(svyglm(api00 ~ ell + stype, rd))"),
  cmp("svrep", c("chisq_F", "chisq_ndf", "chisq_ddf", "chisq_p"),
      c(ch$statistic, ch$parameter, ch$p.value), "svychisq(~sch.wide + stype, rd)"),
  cmp(paste0("svrep_awards_", cp$awards), "logit_low", cp$ci_l, "svyby(~I(sch.wide == 'Yes'), ~awards, rd, svyciprop, method = 'logit')"),
  cmp(paste0("svrep_awards_", cp$awards), "logit_high", cp$ci_u, "svyby(~I(sch.wide == 'Yes'), ~awards, rd, svyciprop, method = 'logit')"),
  cmp(paste0("svrep_awards_", cp$awards), "degf", sapply(as.character(cp$awards), function(l) degf(subset(rd, awards == l))),
      "degf(subset(rd, awards == level))"),
  rkrow("svrep_rank", rk, "svyranktest(api00 ~ sch.wide, rd)"),
  rkrow("svrep_rank_median", rkm, "svyranktest(api00 ~ sch.wide, rd, test = 'median')"),
  rkrow("jk1_raking_rank", rkc, "svyranktest(api00 ~ sch.wide, calibrate(rclus1, ~stype, pop, calfun = 'raking'))"))
write.csv(srows, file.path(out, "svrep.csv"), row.names = FALSE)
cat("wrote", file.path(out, "svrep.csv"), "\n")

# subset(): the units left out keep their place in the design (weight 0), so domain SEs keep every PSU, and
# degf counts the domain's PSUs; linearised and JK1.
sH <- subset(dclus1, stype == "H")
rH <- subset(rclus1, stype == "H")
sm <- svymean(~api00, sH); st <- svytotal(~enroll, sH); rm_ <- svymean(~api00, rH)
subrows <- rbind(
  cmp("subset_H", "mean_api00", coef(sm), "svymean(~api00, subset(dclus1, stype == 'H'))"),
  cmp("subset_H", "se_api00", SE(sm), "SE(svymean(~api00, subset(dclus1, stype == 'H')))"),
  cmp("subset_H", "total_enroll", coef(st), "svytotal(~enroll, subset(dclus1, stype == 'H'))"),
  cmp("subset_H", "se_enroll", SE(st), "SE(svytotal(~enroll, subset(dclus1, stype == 'H')))"),
  cmp("subset_H", "degf", degf(sH), "degf(subset(dclus1, stype == 'H'))"),
  cmp("subset_H_jk1", "se_api00", SE(rm_), "SE(svymean(~api00, subset(as.svrepdesign(dclus1, 'JK1'), stype == 'H')))"),
  cmp("subset_H_jk1", "degf", degf(rH), "degf(subset(as.svrepdesign(dclus1, 'JK1'), stype == 'H'))"),
  cmp("subset_cal_awards", "se_api00", SE(svymean(~api00, subset(dcal, awards == "Yes"))),
      "SE(svymean(~api00, subset(calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking'), awards == 'Yes')))"),
  cmp("subset_cal_awards_jk1", "se_api00",
      SE(svymean(~api00, subset(calibrate(rclus1, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018,
                                                                      sch.wideYes = 5122), calfun = "raking"),
                                awards == "Yes"))),
      "SE(svymean(~api00, subset(calibrate(as.svrepdesign(dclus1, 'JK1'), ~stype+sch.wide, pop, calfun='raking'), awards == 'Yes')))"))
write.csv(subrows, file.path(out, "subset.csv"), row.names = FALSE)
cat("wrote", file.path(out, "subset.csv"), "\n")

# svytotal of a factor: the estimated count of each level, linearised and JK1.
ft <- svytotal(~stype, dclus1); fr <- svytotal(~stype, rclus1)
write.csv(rbind(cmp("factor_total", paste0("total_", names(coef(ft))), coef(ft), "svytotal(~stype, dclus1)"),
                cmp("factor_total", paste0("se_", names(coef(ft))), SE(ft), "SE(svytotal(~stype, dclus1))"),
                cmp("factor_total_jk1", paste0("se_", names(coef(fr))), SE(fr),
                    "SE(svytotal(~stype, as.svrepdesign(dclus1, 'JK1')))")),
          file.path(out, "factor_totals.csv"), row.names = FALSE)
cat("wrote", file.path(out, "factor_totals.csv"), "\n")

# svyratio: whole sample, by domain, JK1 and after a raking calibration.
r0 <- svyratio(~api00, ~api99, dclus1); rb <- svyby(~api00, ~stype, denominator = ~api99, design = dclus1, svyratio)
rj <- svyratio(~api00, ~api99, rclus1); rc <- svyratio(~api00, ~api99, dcal)
write.csv(rbind(
  cmp("ratio", c("estimate", "se"), c(coef(r0), SE(r0)), "svyratio(~api00, ~api99, dclus1)"),
  cmp(paste0("ratio_by_", rb$stype), "estimate", rb[[2]], "svyby(~api00, ~stype, denominator = ~api99, dclus1, svyratio)"),
  cmp(paste0("ratio_by_", rb$stype), "se", rb[[3]], "svyby(~api00, ~stype, denominator = ~api99, dclus1, svyratio)"),
  cmp("ratio_jk1", "se", SE(rj), "SE(svyratio(~api00, ~api99, as.svrepdesign(dclus1, 'JK1')))"),
  cmp("ratio_cal", c("estimate", "se"), c(coef(rc), SE(rc)), "svyratio(~api00, ~api99, calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking'))")),
  file.path(out, "ratios.csv"), row.names = FALSE)
cat("wrote", file.path(out, "ratios.csv"), "\n")

# svycontrast: linear combinations of estimates with their covariance (svyby(…, covmat = TRUE) by domain);
# whole sample, by domain, a proportion by domain, totals by domain, JK1 and after a raking calibration.
m2 <- svymean(~api00 + api99, dclus1); c1 <- svycontrast(m2, c(api00 = 1, api99 = -1))
b <- svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)
c2 <- svycontrast(b, list(EmH = c(E = 1, H = -1, M = 0), avg = c(E = 1/3, H = 1/3, M = 1/3)))
bp <- svyby(~sch.wide, ~stype, dclus1, svymean, covmat = TRUE)
cp <- svycontrast(bp, c("E:sch.wideYes" = 1, "H:sch.wideYes" = -1))
bt <- svyby(~enroll, ~stype, dclus1, svytotal, covmat = TRUE); ct <- svycontrast(bt, c(E = 1, H = 1, M = 1))
bj <- svyby(~api00, ~stype, rclus1, svymean, covmat = TRUE); cj <- svycontrast(bj, c(E = 1, H = -1, M = 0))
mc <- svymean(~api00 + api99, dcal); cc <- svycontrast(mc, c(api00 = 1, api99 = -1))
cg <- svycontrast(fits$logit_strat[[1]], c(stypeH = 1, stypeM = -1))
# nonlinear contrasts (the delta method with R's symbolic derivatives): a ratio of two means, their log ratio and a
# difference written as an expression in one call (R reads a plain vector in such a list as constants, not
# coefficients); domains' means through exp, sqrt and a power; JK1; a model's odds ratio
n1 <- svycontrast(m2, list(ratio = quote(api00 / api99), logratio = quote(log(api00) - log(api99)),
                           diff = quote(api00 - api99)))
n2 <- svycontrast(b, quote(exp(E / 1000) - sqrt(M) + (H / 600)^2))
n3 <- svycontrast(svymean(~api00 + api99, rclus1), quote(api00 / api99))
n4 <- svycontrast(fits$logit_strat[[1]], quote(exp(stypeH - stypeM)))
write.csv(rbind(
  cmp("contrast_means", c("estimate", "se"), c(coef(c1), SE(c1)), "svycontrast(svymean(~api00+api99, dclus1), c(api00=1, api99=-1))"),
  cmp("vcov_means", c("api00_api00", "api00_api99", "api99_api99"), vcov(m2)[c(1, 2, 4)], "vcov(svymean(~api00+api99, dclus1))"),
  cmp(c("contrast_by_EmH", "contrast_by_avg"), "estimate", coef(c2), "svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), list(EmH=c(1,-1,0), avg=c(1,1,1)/3))"),
  cmp(c("contrast_by_EmH", "contrast_by_avg"), "se", SE(c2), "svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), list(EmH=c(1,-1,0), avg=c(1,1,1)/3))"),
  cmp("vcov_by", c("E_H", "E_M", "H_M"), vcov(b)[c(4, 7, 8)], "vcov(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE))"),
  cmp("contrast_share", c("estimate", "se"), c(coef(cp), SE(cp)), "svycontrast(svyby(~sch.wide, ~stype, dclus1, svymean, covmat=TRUE), E:Yes - H:Yes)"),
  cmp("contrast_totals", c("estimate", "se"), c(coef(ct), SE(ct)), "svycontrast(svyby(~enroll, ~stype, dclus1, svytotal, covmat=TRUE), c(1,1,1))"),
  cmp("contrast_jk1", c("estimate", "se"), c(coef(cj), SE(cj)), "svycontrast(svyby(~api00, ~stype, as.svrepdesign(dclus1, 'JK1'), svymean, covmat=TRUE), c(1,-1,0))"),
  cmp("contrast_cal", c("estimate", "se"), c(coef(cc), SE(cc)), "svycontrast(svymean(~api00+api99, calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking')), c(1,-1))"),
  cmp("contrast_glm", c("estimate", "se"), c(coef(cg), SE(cg)), "svycontrast(svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dstrat, family=quasibinomial()), c(stypeH=1, stypeM=-1))"),
  cmp(paste0("nonlinear_", names(coef(n1))), "estimate", coef(n1), "svycontrast(svymean(~api00+api99, dclus1), list(ratio=quote(api00/api99), logratio=quote(log(api00)-log(api99)), diff=quote(api00-api99)))"),
  cmp(paste0("nonlinear_", names(coef(n1))), "se", SE(n1), "SE(svycontrast(svymean(~api00+api99, dclus1), list(ratio=quote(api00/api99), logratio=quote(log(api00)-log(api99)), diff=quote(api00-api99))))"),
  cmp("nonlinear_by", c("estimate", "se"), c(coef(n2), SE(n2)), "svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), quote(exp(E/1000) - sqrt(M) + (H/600)^2))"),
  cmp("nonlinear_jk1", c("estimate", "se"), c(coef(n3), SE(n3)), "svycontrast(svymean(~api00+api99, as.svrepdesign(dclus1, 'JK1')), quote(api00/api99))"),
  cmp("nonlinear_glm", c("estimate", "se"), c(coef(n4), SE(n4)), "svycontrast(svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dstrat, family=quasibinomial()), quote(exp(stypeH - stypeM)))")),
  file.path(out, "contrasts.csv"), row.names = FALSE)
cat("wrote", file.path(out, "contrasts.csv"), "\n")

# Two calibrations in turn (the second on the calibrated weights): svyrecvar takes each calibration's residuals
# in turn, the second's on the first's.
d2 <- calibrate(calibrate(dclus1, ~stype, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)),
                ~sch.wide, c(`(Intercept)` = 6194, sch.wideYes = 5122))
m2c <- svymean(~api00, d2); t2c <- svytotal(~enroll, d2)
write.csv(rbind(
  cmp("twice_mean", c("estimate", "se"), c(coef(m2c), SE(m2c)), "svymean(~api00, calibrate(calibrate(dclus1, ~stype, pop), ~sch.wide, pop))"),
  cmp("twice_total", c("estimate", "se"), c(coef(t2c), SE(t2c)), "svytotal(~enroll, calibrate(calibrate(dclus1, ~stype, pop), ~sch.wide, pop))")),
  file.path(out, "calibrated_twice.csv"), row.names = FALSE)
cat("wrote", file.path(out, "calibrated_twice.csv"), "\n")

# svyvar: the population variance with its SE; whole sample (stratified, clustered), by domain, JK1 (the mean
# recomputed in each replicate), JK1 by domain and after a raking calibration.
vs <- svyvar(~api00, dstrat); vc <- svyvar(~api00, dclus1); vb <- svyby(~api00, ~stype, dclus1, svyvar)
vj <- svyvar(~api00, rclus1); vjb <- svyby(~api00, ~stype, rclus1, svyvar); vk <- svyvar(~api00, dcal)
write.csv(rbind(
  cmp("var_strat", c("estimate", "se"), c(coef(vs), SE(vs)), "svyvar(~api00, dstrat)"),
  cmp("var_clus1", c("estimate", "se"), c(coef(vc), SE(vc)), "svyvar(~api00, dclus1)"),
  cmp(paste0("var_by_", vb$stype), "estimate", vb[[2]], "svyby(~api00, ~stype, dclus1, svyvar)"),
  cmp(paste0("var_by_", vb$stype), "se", SE(vb), "svyby(~api00, ~stype, dclus1, svyvar)"),
  cmp("var_jk1", c("estimate", "se"), c(coef(vj), SE(vj)), "svyvar(~api00, as.svrepdesign(dclus1, 'JK1'))"),
  cmp(paste0("var_jk1_by_", vjb$stype), "estimate", vjb[[2]], "svyby(~api00, ~stype, as.svrepdesign(dclus1, 'JK1'), svyvar)"),
  cmp(paste0("var_jk1_by_", vjb$stype), "se", SE(vjb), "svyby(~api00, ~stype, as.svrepdesign(dclus1, 'JK1'), svyvar)"),
  cmp("var_cal", c("estimate", "se"), c(coef(vk), SE(vk)), "svyvar(~api00, calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking'))")),
  file.path(out, "variances.csv"), row.names = FALSE)
cat("wrote", file.path(out, "variances.csv"), "\n")

# svyranktest between more than two groups (R's multiranktest: the Wald F of the rank scores' group coefficients;
# R returns the Wald chi-square as `parameter` and its df as `statistic`). avg.ed has missing values.
kr <- list(
  kw_clus1 = list(svyranktest(api00 ~ stype, dclus1), "svyranktest(api00 ~ stype, dclus1)"),
  median_strat = list(svyranktest(api00 ~ stype, dstrat, test = "median"), "svyranktest(api00 ~ stype, dstrat, test='median')"),
  vdw_na = list(svyranktest(avg.ed ~ stype, dclus1, test = "vanderWaerden"),
                "svyranktest(avg.ed ~ stype, dclus1, test='vanderWaerden')"),
  # one school's mid-rank is N/2 exactly (equal weights, odd n): its median score is 0
  median_tie = list(svyranktest(enroll ~ stype, dclus1, test = "median"),
                    "svyranktest(enroll ~ stype, dclus1, test='median')"))
# Two groups in a domain of a raked design: R averages mid-ranks over every row it holds, and the calibrated subset
# keeps the other schools (weight 0), twelve of whose api00 tie with the domain's. Shifted by 0.1 outside the
# domain, they no longer tie, and R ranks the domain's schools alone, as the engine does.
dshift <- update(dcal, api00s = ifelse(stype == "E", api00, api00 + 0.1))
rd <- svyranktest(api00s ~ awards, subset(dshift, stype == "E"))
rdcall <- "svyranktest(api00 ~ awards, subset(dcal, stype=='E')), api00 + 0.1 outside the domain"
write.csv(rbind(do.call(rbind, lapply(names(kr), function(name) {
  k <- kr[[name]][[1]]; call <- kr[[name]][[2]]
  cmp(name, c("chisq", "ndf", "ddf", "p"), c(k$parameter, k$statistic, k$ddf, k$p.value),
      paste0(call, c("$parameter", "$statistic", "$ddf", "$p.value")))
})), cmp("domain_cal", c("t", "df", "p"), c(rd$statistic, rd$parameter, rd$p.value),
         paste0(rdcall, c(": $statistic", ": $parameter", ": $p.value")))),
  file.path(out, "rank_groups.csv"), row.names = FALSE)
cat("wrote", file.path(out, "rank_groups.csv"), "\n")

# Bounded raking (calfun = "raking" with bounds: exp(u) clipped to them), with a numeric total so that g varies by
# unit and binds on both sides (45 units at 0.7, 7 at 1.9); categorical margins; JK1 replicates calibrated alike
# (bounds every replicate can meet). epsilon far below calibrate's default 1e-7, as glm.control above.
popn <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
bn <- calibrate(dclus1, ~stype + api99, popn, calfun = "raking", bounds = c(0.7, 1.9), epsilon = 1e-13, maxit = 2000)
bc <- calibrate(dclus1, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                calfun = "raking", bounds = c(0.9, 1.9), epsilon = 1e-13, maxit = 2000)
bj <- calibrate(rclus1, ~stype + api99, popn, calfun = "raking", bounds = c(0.6, 2.5), epsilon = 1e-12, maxit = 2000)
gn <- weights(bn) / weights(dclus1); gc <- weights(bc) / weights(dclus1)
mn <- svymean(~api00, bn); tn <- svytotal(~enroll, bn); mc2 <- svymean(~api00, bc); mj <- svymean(~api00, bj)
callb <- "calibrate(dclus1, ~stype+api99, pop, calfun='raking', bounds=c(0.7, 1.9))"
callc <- "calibrate(dclus1, ~stype+sch.wide, pop, calfun='raking', bounds=c(0.9, 1.9))"
write.csv(rbind(
  cmp("bounded_numeric", c("g_min", "g_max", "at_lower", "at_upper"),
      c(min(gn), max(gn), sum(abs(gn - 0.7) < 1e-9), sum(abs(gn - 1.9) < 1e-9)), paste0("weights(", callb, ")/pw")),
  cmp("bounded_numeric", c("mean_api00", "se_mean_api00"), c(coef(mn), SE(mn)), paste0("svymean(~api00, ", callb, ")")),
  cmp("bounded_numeric", c("total_enroll", "se_total_enroll"), c(coef(tn), SE(tn)), paste0("svytotal(~enroll, ", callb, ")")),
  cmp("bounded_categorical", c("g_min", "g_max"), range(gc), paste0("weights(", callc, ")/pw")),
  cmp("bounded_categorical", c("mean_api00", "se_mean_api00"), c(coef(mc2), SE(mc2)), paste0("svymean(~api00, ", callc, ")")),
  cmp("bounded_jk1", c("mean_api00", "se_mean_api00"), c(coef(mj), SE(mj)),
      "svymean(~api00, calibrate(as.svrepdesign(dclus1, 'JK1'), ~stype+api99, pop, calfun='raking', bounds=c(0.6, 2.5)))")),
  file.path(out, "bounded_raking.csv"), row.names = FALSE)
cat("wrote", file.path(out, "bounded_raking.csv"), "\n")

# predict(): survey-weighted GLMs at new covariate values, on the link and the response scale (the delta method),
# with SEs, and the covariance of the predictions (vcov = TRUE) for three cases; linearised and JK1. The new rows
# hold every level of stype, in order: predict.svrepglm builds its model frame without the fit's levels
# (predict.svyglm uses them). SEs are read from attr(, "var"): SE() of a svrepstat of several predictions returns
# the first one only (survey 4.1.1).
nd <- data.frame(ell = c(5, 25, 45, 60), meals = c(10, 40, 70, 90), stype = c("E", "H", "M", "E"))
pcases <- list(
  pred_gauss_strat = list(svyglm(api00 ~ ell + meals + stype, dstrat), "svyglm(api00 ~ ell + meals + stype, dstrat)",
                          "link", "link"),
  pred_logit_strat = list(fits$logit_strat[[1]], fits$logit_strat[[2]], c("link", "response"), "response"),
  pred_poisson_strat = list(fits$poisson_strat[[1]], fits$poisson_strat[[2]], c("link", "response"), NULL),
  pred_gauss_jk1 = list(svyglm(api00 ~ ell + meals + stype, rclus1),
                        "svyglm(api00 ~ ell + meals + stype, as.svrepdesign(dclus1, type='JK1'))", "link", NULL),
  pred_logit_jk1 = list(fits$logit_jk1[[1]], fits$logit_jk1[[2]], c("link", "response"), "response"))
nd$enroll <- c(250, 600, 900, 1500)       # the exposure of the offset model (the others do not read it)
pcases$pred_poisson_offset <- list(fits$poisson_offset[[1]], fits$poisson_offset[[2]], c("link", "response"), "response")
prows <- list()
for (name in names(pcases)) {
  g <- pcases[[name]][[1]]
  for (type in pcases[[name]][[3]]) {
    call <- paste0("predict(", pcases[[name]][[2]], ", nd, type='", type, "')")
    p <- predict(g, nd, type = type)
    prows[[length(prows) + 1]] <- rbind(
      cmp(name, paste0(type, "_estimate_", seq_along(p)), as.numeric(p), call),
      cmp(name, paste0(type, "_se_", seq_along(p)), sqrt(attr(p, "var")), paste0("sqrt(attr(", call, ", 'var'))")))
    if (type %in% pcases[[name]][[4]]) {
      v <- vcov(predict(g, nd, type = type, vcov = TRUE))
      prows[[length(prows) + 1]] <- cmp(name, paste0(type, "_vcov_", row(v), "_", col(v)), v,
                                        paste0("vcov(predict(", pcases[[name]][[2]], ", nd, type='", type, "', vcov=TRUE))"))
    }
  }
}
write.csv(do.call(rbind, prows), file.path(out, "predictions.csv"), row.names = FALSE)
cat("wrote", file.path(out, "predictions.csv"), "\n")
