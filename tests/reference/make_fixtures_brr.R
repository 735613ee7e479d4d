#!/usr/bin/env Rscript
# Reference values for balanced repeated replication (as.svrepdesign(type = "BRR") and Fay's variant, type = "Fay"):
# the replicate weights and the estimates' SEs, on R's scd data (3 strata of 2 ambulances, R's own BRR example) and on
# a two-PSU-per-stratum sample drawn here (13 strata numbered 1 to 13, whose text order, « 10 » before « 2 », is the
# one R's brrweights uses; 3 units per PSU), linear and post-stratified estimates, a stratum of 4 PSUs (R splits it)
# and a single stratum. All need a Hadamard matrix of order 4, 8 or 16, where R's is Sylvester's.
# Run by hand from the repository root (the tests only read the CSVs this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_brr.R
# Writes brr.csv (the R command beside each number), brr_sample.csv (the drawn sample), brr_repweights.csv (R's
# replicate weights of every unit) and brr_PROVENANCE.txt.
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(scd)
write(paste0("make_fixtures_brr.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "brr_PROVENANCE.txt"))
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)
set.seed(2017)
n <- 13 * 2 * 3
sample2 <- data.frame(stratum = rep(1:13, each = 6), psu = rep(1:26, each = 3), w = round(runif(n, 20, 80), 1),
                      y = round(rnorm(n, 50, 10) + rep(rnorm(26, 0, 5), each = 3), 2), x = round(runif(n, 1, 3), 2),
                      sex = sample(c("F", "M"), n, replace = TRUE))
# sample3: 5 strata, the third with 4 PSUs (R splits it into two pseudo-strata of consecutive PSUs, numbered first);
# sample4: one stratum of 2 PSUs (R's smallest Hadamard matrix, order 4)
sample3 <- data.frame(stratum = rep(c(1, 2, 3, 3, 4, 5), each = 6), psu = rep(1:12, each = 3),
                      w = round(runif(36, 20, 80), 1), y = round(rnorm(36, 50, 10), 2), x = round(runif(36, 1, 3), 2))
sample4 <- data.frame(stratum = "A", psu = rep(1:2, each = 4), w = round(runif(8, 20, 80), 1),
                      y = round(rnorm(8, 50, 10), 2), x = round(runif(8, 1, 3), 2))
write.csv(rbind(cbind(set = "s2", sample2[, c("stratum", "psu", "w", "y", "x", "sex")]),
                cbind(set = "s3", sample3, sex = NA), cbind(set = "s4", sample4, sex = NA)),
          file.path(out, "brr_sample.csv"), row.names = FALSE)
scd_d <- svydesign(data = scd, prob = ~1, id = ~ambulance, strata = ~ESA, nest = TRUE)
s2_d <- svydesign(data = sample2, weights = ~w, id = ~psu, strata = ~stratum)
s3_d <- svydesign(data = sample3, weights = ~w, id = ~psu, strata = ~stratum)
s4_d <- svydesign(data = sample4, weights = ~w, id = ~psu, strata = ~stratum)
pop_sex <- data.frame(sex = c("F", "M"), Freq = c(2700, 2500))
designs <- list(
  scd_brr = list(as.svrepdesign(scd_d, type = "BRR"), "as.svrepdesign(scd_d, type='BRR')", "alive", "arrests"),
  scd_fay = list(as.svrepdesign(scd_d, type = "Fay", fay.rho = 0.3), "as.svrepdesign(scd_d, type='Fay', fay.rho=0.3)",
                 "alive", "arrests"),
  s2_brr = list(as.svrepdesign(s2_d, type = "BRR"), "as.svrepdesign(s2_d, type='BRR')", "y", "x"),
  s2_fay = list(as.svrepdesign(s2_d, type = "Fay", fay.rho = 0.5), "as.svrepdesign(s2_d, type='Fay', fay.rho=0.5)",
                "y", "x"),
  s2_brr_post = list(postStratify(as.svrepdesign(s2_d, type = "BRR"), ~sex, pop_sex),
                     "postStratify(as.svrepdesign(s2_d, type='BRR'), ~sex, pop_sex)", "y", "x"),
  s2_brr_rho = list(as.svrepdesign(s2_d, type = "BRR", fay.rho = 0.3), "as.svrepdesign(s2_d, type='BRR', fay.rho=0.3)",
                    "y", "x"),
  s3_brr = list(as.svrepdesign(s3_d, type = "BRR"), "as.svrepdesign(s3_d, type='BRR')", "y", "x"),
  s4_brr = list(as.svrepdesign(s4_d, type = "BRR"), "as.svrepdesign(s4_d, type='BRR')", "y", "x"))
rows <- list()
for (name in names(designs)) {
  d <- designs[[name]][[1]]
  call <- designs[[name]][[2]]
  y <- designs[[name]][[3]]
  x <- designs[[name]][[4]]
  m <- svymean(as.formula(paste0("~", y)), d)
  t <- svytotal(as.formula(paste0("~", y)), d)
  r <- svyratio(as.formula(paste0("~", y)), as.formula(paste0("~", x)), d)
  rows[[length(rows) + 1]] <- rbind(
    cmp(name, "mean", coef(m), paste0("svymean(~", y, ", ", call, ")")),
    cmp(name, "se_mean", SE(m), paste0("SE(svymean(~", y, ", ", call, "))")),
    cmp(name, "se_total", SE(t), paste0("SE(svytotal(~", y, ", ", call, "))")),
    cmp(name, "ratio", coef(r), paste0("svyratio(~", y, ", ~", x, ", ", call, ")")),
    cmp(name, "se_ratio", SE(r), paste0("SE(svyratio(~", y, ", ~", x, ", ", call, "))")),
    cmp(name, "scale", d$scale, paste0(call, "$scale")),
    cmp(name, "replicates", ncol(d$repweights), paste0("ncol(", call, "$repweights)")))
}
# A domain of two PSUs (1 in stratum 1, 4 in stratum 2) has no unit in the half-samples that drop both: svrVar discards
# those replicates (a warning) and takes the variance of the others, with the scale unchanged
s2b <- designs$s2_brr[[1]]
dcall <- "subset(as.svrepdesign(s2_d, type='BRR'), psu %in% c(1, 4))"
dm <- suppressWarnings(svymean(~y, subset(s2b, psu %in% c(1, 4))))
dr <- suppressWarnings(svyratio(~y, ~x, subset(s2b, psu %in% c(1, 4))))
empty <- sum(colSums(weights(s2b, "analysis")[sample2$psu %in% c(1, 4), ]) == 0)
rows[[length(rows) + 1]] <- rbind(
  cmp("s2_brr_domain", "mean", coef(dm), paste0("svymean(~y, ", dcall, ")")),
  cmp("s2_brr_domain", "se_mean", SE(dm), paste0("SE(svymean(~y, ", dcall, "))")),
  cmp("s2_brr_domain", "se_ratio", SE(dr), paste0("SE(svyratio(~y, ~x, ", dcall, "))")),
  cmp("s2_brr_domain", "discarded", empty, "replicates giving the domain no weight (svrVar discards them)"))
write.csv(do.call(rbind, rows), file.path(out, "brr.csv"), row.names = FALSE)
rw <- function(name) {
  w <- weights(designs[[name]][[1]], "analysis")
  data.frame(fixture = name, unit = rep(seq_len(nrow(w)), ncol(w)), replicate = rep(seq_len(ncol(w)), each = nrow(w)),
             weight = sprintf("%.17g", as.vector(w)))
}
write.csv(do.call(rbind, lapply(c("scd_brr", "scd_fay", "s2_brr", "s2_fay", "s2_brr_rho", "s3_brr", "s4_brr"), rw)),
          file.path(out, "brr_repweights.csv"),
          row.names = FALSE)
