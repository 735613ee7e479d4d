#!/usr/bin/env Rscript
# Reference values for the engine's trim_weights (R survey's trimWeights), on the api data as
# tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# Run by hand from the repository root (the tests only read the CSVs this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_trim.R
# Writes trim_weights.csv (estimates and SEs, the R command beside each number), trim_weights_units.csv (the
# weights after trimming, one column per case, units in the data's order), trim_weights_jk1_repweights.csv
# (JK1 replicate weights trimmed column by column) and trim_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_trim.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "trim_PROVENANCE.txt"))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
pop <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
popcall <- "c(`(Intercept)`=6194, stypeH=755, stypeM=1018, api99=3914069)"
cstrat <- calibrate(dstrat, ~stype + api99, pop)
pstrat <- postStratify(dstrat, ~sch.wide, data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122)))
cclus1 <- calibrate(dclus1, ~stype + api99, pop)
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)

# survey.design2: trimWeights caps, spreads the net trimmed weight equally over the units inside the bounds
# (strict = TRUE: again until none is outside), and sets prob; a calibrated design keeps its postStrata
cases <- list(
  strat_u40 = list(trimWeights(dstrat, upper = 40), "trimWeights(dstrat, upper=40)"),
  strat_u32 = list(trimWeights(dstrat, upper = 32), "trimWeights(dstrat, upper=32)"),
  strat_u32_strict = list(trimWeights(dstrat, upper = 32, strict = TRUE), "trimWeights(dstrat, upper=32, strict=TRUE)"),
  strat_l18_u40 = list(trimWeights(dstrat, upper = 40, lower = 18), "trimWeights(dstrat, upper=40, lower=18)"),
  strat_l18_u32_strict = list(trimWeights(dstrat, upper = 32, lower = 18, strict = TRUE),
                              "trimWeights(dstrat, upper=32, lower=18, strict=TRUE)"),
  cal_strat_l15_u45 = list(trimWeights(cstrat, upper = 45, lower = 15),
                           paste0("trimWeights(calibrate(dstrat, ~stype+api99, ", popcall, "), upper=45, lower=15)")),
  ps_strat_l15.1_u44.3 = list(trimWeights(pstrat, upper = 44.3, lower = 15.1),
                              "trimWeights(postStratify(dstrat, ~sch.wide, data.frame(sch.wide=c('No','Yes'), Freq=c(1072,5122))), upper=44.3, lower=15.1)"),
  cal_clus1_u50_strict = list(trimWeights(cclus1, upper = 50, strict = TRUE),
                              paste0("trimWeights(calibrate(dclus1, ~stype+api99, ", popcall, "), upper=50, strict=TRUE)")),
  # the calibrated designs untrimmed: what the trimmed ones' SEs are to be told apart from
  cal_strat = list(cstrat, paste0("calibrate(dstrat, ~stype+api99, ", popcall, ")")),
  cal_clus1 = list(cclus1, paste0("calibrate(dclus1, ~stype+api99, ", popcall, ")")))
rows <- list()
units <- list()
for (name in names(cases)) {
  d <- cases[[name]][[1]]
  call <- cases[[name]][[2]]
  m <- svymean(~api00, d)
  t <- svytotal(~enroll, d)
  rows[[length(rows) + 1]] <- rbind(
    cmp(name, "mean_api00", coef(m), paste0("coef(svymean(~api00, ", call, "))")),
    cmp(name, "mean_api00_se", SE(m), paste0("SE(svymean(~api00, ", call, "))")),
    cmp(name, "total_enroll", coef(t), paste0("coef(svytotal(~enroll, ", call, "))")),
    cmp(name, "total_enroll_se", SE(t), paste0("SE(svytotal(~enroll, ", call, "))")),
    cmp(name, "weights_sum", sum(weights(d)), paste0("sum(weights(", call, "))")),
    cmp(name, "weights_max", max(weights(d)), paste0("max(weights(", call, "))")),
    cmp(name, "poststrata", length(d$postStrata), paste0("length((", call, ")$postStrata)")))
  units[[name]] <- weights(d)
}
n_strat <- nrow(apistrat)
wide <- data.frame(unit = seq_len(max(n_strat, nrow(apiclus1))))
for (name in names(units)) wide[[name]] <- c(sprintf("%.17g", units[[name]]), rep(NA, nrow(wide) - length(units[[name]])))
write.csv(wide, file.path(out, "trim_weights_units.csv"), row.names = FALSE)
cat("wrote", file.path(out, "trim_weights_units.csv"), "\n")

# svyrep.design: trimWeights.svyrep.design (survey 4.1.1) sets prob <- 1/pw from the untrimmed sampling weights
# (prob is not what a replicate design weighs by: its pweights stay untrimmed) and adds the redistributed share
# to a vector recycled over the replicate matrix. Its results are recorded to document that; the reference for
# the engine is the rule that method means, computed with R's own trimWeights.survey.design2 on the full-sample
# weights and on each replicate's column (the units with a positive weight in it), same bounds.
trim_column <- function(w, upper, lower = -Inf, strict = FALSE) {
  pos <- w > 0
  d <- svydesign(id = ~1, weights = ~w, data = data.frame(w = w[pos]))
  w[pos] <- weights(trimWeights(d, upper = upper, lower = lower, strict = strict))
  w
}
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
rcal <- calibrate(rclus1, ~stype + api99, pop)
rstrat <- as.svrepdesign(dstrat, type = "JKn")
rcall <- paste0("calibrate(as.svrepdesign(dclus1, type='JK1'), ~stype+api99, ", popcall, ")")
rep_cases <- list(
  jk1_cal_u50 = list(rcal, 50, -Inf, FALSE, rcall),
  jk1_cal_u50_strict = list(rcal, 50, -Inf, TRUE, rcall),
  jk1_cal_l15_u50 = list(rcal, 50, 15, FALSE, rcall),
  jkn_strat_u40 = list(rstrat, 40, -Inf, FALSE, "as.svrepdesign(dstrat, type='JKn')"))
for (name in names(rep_cases)) {
  rc <- rep_cases[[name]]
  rd <- rc[[1]]
  rule <- paste0("per column of weights(", rc[[5]], ", 'analysis') and its pweights, trimWeights(svydesign(id=~1, ",
                 "weights=~w, data=data.frame(w=<positive weights>)), upper=", rc[[2]], ", lower=", rc[[3]],
                 ", strict=", rc[[4]], ")")
  rt <- rd
  rt$repweights <- apply(weights(rd, "analysis"), 2, trim_column, upper = rc[[2]], lower = rc[[3]], strict = rc[[4]])
  rt$combined.weights <- TRUE
  rt$selfrep <- NULL      # svytotal indexes its pw (1 for combined weights) by selfrep: NAs
  rt$pweights <- trim_column(weights(rd, "sampling"), rc[[2]], rc[[3]], rc[[4]])
  m <- svymean(~api00, rt)
  t <- svytotal(~enroll, rt)
  rows[[length(rows) + 1]] <- rbind(
    cmp(name, "mean_api00", coef(m), paste0("coef(svymean(~api00, <", rule, ">))")),
    cmp(name, "mean_api00_se", SE(m), paste0("SE(svymean(~api00, <", rule, ">))")),
    cmp(name, "total_enroll", coef(t), paste0("coef(svytotal(~enroll, <", rule, ">))")),
    cmp(name, "total_enroll_se", SE(t), paste0("SE(svytotal(~enroll, <", rule, ">))")))
  if (name == "jk1_cal_u50") {
    write.csv(data.frame(unit = seq_len(nrow(rt$repweights)), apply(rt$repweights, 2, sprintf, fmt = "%.17g")),
              file.path(out, "trim_weights_jk1_repweights.csv"), row.names = FALSE)
    cat("wrote", file.path(out, "trim_weights_jk1_repweights.csv"), "\n")
  }
  if (rc[[3]] == -Inf) {
    # what trimWeights.svyrep.design itself returns (survey 4.1.1), for the record
    rr <- suppressWarnings(trimWeights(rd, upper = rc[[2]]))
    mr <- svymean(~api00, rr)
    mu <- svymean(~api00, rd)
    rcall2 <- paste0("trimWeights(", rc[[5]], ", upper=", rc[[2]], ")")
    rows[[length(rows) + 1]] <- rbind(
      cmp(name, "svyrep_method_mean_api00", coef(mr), paste0("coef(svymean(~api00, ", rcall2, "))")),
      cmp(name, "svyrep_method_mean_api00_se", SE(mr), paste0("SE(svymean(~api00, ", rcall2, "))")),
      cmp(name, "untrimmed_mean_api00", coef(mu), paste0("coef(svymean(~api00, ", rc[[5]], "))")),
      cmp(name, "svyrep_method_pweights_max", max(weights(rr, "sampling")), paste0("max(weights(", rcall2, ", 'sampling'))")),
      cmp(name, "svyrep_method_repweights_colsum_1", sum(weights(rr, "analysis")[, 1]),
          paste0("sum(weights(", rcall2, ", 'analysis')[, 1])")),
      cmp(name, "untrimmed_repweights_colsum_1", sum(weights(rd, "analysis")[, 1]),
          paste0("sum(weights(", rc[[5]], ", 'analysis')[, 1])")))
  }
}
write.csv(do.call(rbind, rows), file.path(out, "trim_weights.csv"), row.names = FALSE)
cat("wrote", file.path(out, "trim_weights.csv"), "\n")
