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
