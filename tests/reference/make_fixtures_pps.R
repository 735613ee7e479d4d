#!/usr/bin/env Rscript
# Reference values for the engine's PPS designs sampled without replacement (R survey's
# svydesign(pps = "brewer" | "overton" | HR() | ppsmat(), variance = "HT" | "YG")), on R's election data.
# Run by hand from the repository root (the tests only read the CSVs this writes):
#   apt-get install r-base-core r-cran-survey r-cran-sampling
#   Rscript tests/reference/make_fixtures_pps.R
# Writes pps_election.csv (R's election_pps: 40 counties drawn with probability proportional to votes),
# pps_jointprob.csv (R's election_jointprob, their joint inclusion probabilities), pps_strata.csv (a sample
# of counties drawn here: three size classes, systematic PPS on votes within each),
# pps_twostage.csv (districts of R's apipop drawn with probability proportional to their number of schools, then
# up to 3 schools by SRSWOR in each: svydesign(id = ~dnum + snum, fpc = ~pi1 + f2, pps = "brewer")),
# pps.csv (estimates, SEs and covariances, the R command beside each number) and pps_PROVENANCE.txt.
suppressPackageStartupMessages({library(survey); library(sampling)})
out <- "tests/reference/fixtures"
data(election)
write(paste0("make_fixtures_pps.R: ", R.version.string, "; survey ", packageVersion("survey"),
             "; sampling ", packageVersion("sampling")), file.path(out, "pps_PROVENANCE.txt"))
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)

# the unstratified sample, as R ships it (the county names left out: not needed, and not ASCII)
el <- election_pps
el$kerry_share <- el$Kerry / el$votes
el$big <- ifelse(el$votes > median(el$votes), "oui", "non")
write.csv(el[, c("TotPrecincts", "Bush", "Kerry", "Nader", "votes", "p", "kerry_share", "big")],
          file.path(out, "pps_election.csv"), row.names = FALSE)
write.csv(election_jointprob, file.path(out, "pps_jointprob.csv"), row.names = FALSE)

# a stratified sample: three size classes, PPS on votes within each by systematic sampling in random order
set.seed(20171205)
pop <- election
pop$size_class <- as.character(cut(pop$TotPrecincts, c(0, 5, 30, Inf), labels = c("petit", "moyen", "grand")))
n_h <- c(petit = 8, moyen = 10, grand = 12)
pik <- numeric(nrow(pop))
sel <- logical(nrow(pop))
for (h in names(n_h)) {
  i <- which(pop$size_class == h)
  pik[i] <- inclusionprobabilities(pop$votes[i], n_h[[h]])
  o <- sample(i)
  sel[o] <- UPsystematic(pik[o]) == 1
}
st <- pop[sel, c("size_class", "TotPrecincts", "Bush", "Kerry", "votes")]
st$stratum <- match(st$size_class, names(n_h))   # R's overton and HR need numeric strata
st$pi <- pik[sel]
st$kerry_share <- st$Kerry / st$votes
write.csv(st, file.path(out, "pps_strata.csv"), row.names = FALSE)

N <- nrow(election)
popcal <- c(`(Intercept)` = N, TotPrecincts = sum(election$TotPrecincts))
popcall <- sprintf("c(`(Intercept)`=%d, TotPrecincts=%d)", N, sum(election$TotPrecincts))
psum <- sum(election$p^2) / 40
designs <- list(
  brewer = list(svydesign(id = ~1, fpc = ~p, data = el, pps = "brewer"),
                "svydesign(id=~1, fpc=~p, data=election_pps, pps='brewer')"),
  overton = list(svydesign(id = ~1, fpc = ~p, data = el, pps = "overton"),
                 "svydesign(id=~1, fpc=~p, data=election_pps, pps='overton')"),
  overton_yg = list(svydesign(id = ~1, fpc = ~p, data = el, pps = "overton", variance = "YG"),
                    "svydesign(id=~1, fpc=~p, data=election_pps, pps='overton', variance='YG')"),
  hr = list(svydesign(id = ~1, fpc = ~p, data = el, pps = HR()),
            "svydesign(id=~1, fpc=~p, data=election_pps, pps=HR())"),
  hr_psum = list(svydesign(id = ~1, fpc = ~p, data = el, pps = HR(psum)),
                 "svydesign(id=~1, fpc=~p, data=election_pps, pps=HR(sum(election$p^2)/40))"),
  hr_yg = list(svydesign(id = ~1, fpc = ~p, data = el, pps = HR(), variance = "YG"),
               "svydesign(id=~1, fpc=~p, data=election_pps, pps=HR(), variance='YG')"),
  joint = list(svydesign(id = ~1, fpc = ~p, data = el, pps = ppsmat(election_jointprob)),
               "svydesign(id=~1, fpc=~p, data=election_pps, pps=ppsmat(election_jointprob))"),
  joint_yg = list(svydesign(id = ~1, fpc = ~p, data = el, pps = ppsmat(election_jointprob), variance = "YG"),
                  "svydesign(id=~1, fpc=~p, data=election_pps, pps=ppsmat(election_jointprob), variance='YG')"),
  wr = list(svydesign(id = ~1, probs = ~p, data = el),
            "svydesign(id=~1, probs=~p, data=election_pps)"),
  strat_brewer = list(svydesign(id = ~1, strata = ~stratum, fpc = ~pi, data = st, pps = "brewer"),
                      "svydesign(id=~1, strata=~stratum, fpc=~pi, data=pps_strata, pps='brewer')"),
  strat_overton = list(svydesign(id = ~1, strata = ~stratum, fpc = ~pi, data = st, pps = "overton"),
                       "svydesign(id=~1, strata=~stratum, fpc=~pi, data=pps_strata, pps='overton')"),
  strat_hr = list(svydesign(id = ~1, strata = ~stratum, fpc = ~pi, data = st, pps = HR()),
                  "svydesign(id=~1, strata=~stratum, fpc=~pi, data=pps_strata, pps=HR())"),
  strat_hr_yg = list(svydesign(id = ~1, strata = ~stratum, fpc = ~pi, data = st, pps = HR(), variance = "YG"),
                     "svydesign(id=~1, strata=~stratum, fpc=~pi, data=pps_strata, pps=HR(), variance='YG')"))
rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- cmp(...)
add("population", "counties", N, "nrow(election)")
add("population", "TotPrecincts", sum(election$TotPrecincts), "sum(election$TotPrecincts)")
add("hr_psum", "psum", psum, "sum(election$p^2)/40")
for (name in names(designs)) {
  d <- designs[[name]][[1]]
  call <- designs[[name]][[2]]
  t <- svytotal(~Bush + Kerry, d)
  add(name, "total_Bush", coef(t)[1], paste0("coef(svytotal(~Bush+Kerry, ", call, "))[1]"))
  add(name, "total_Kerry", coef(t)[2], paste0("coef(svytotal(~Bush+Kerry, ", call, "))[2]"))
  add(name, "total_Bush_var", vcov(t)[1, 1], paste0("vcov(svytotal(~Bush+Kerry, ", call, "))[1,1]"))
  add(name, "total_Kerry_var", vcov(t)[2, 2], paste0("vcov(svytotal(~Bush+Kerry, ", call, "))[2,2]"))
  add(name, "total_cov", vcov(t)[1, 2], paste0("vcov(svytotal(~Bush+Kerry, ", call, "))[1,2]"))
  m <- svymean(~kerry_share, d)
  add(name, "mean_kerry_share", coef(m), paste0("coef(svymean(~kerry_share, ", call, "))"))
  add(name, "mean_kerry_share_se", SE(m), paste0("SE(svymean(~kerry_share, ", call, "))"))
  r <- svyratio(~Kerry, ~votes, d)
  add(name, "ratio_kerry_votes", coef(r), paste0("coef(svyratio(~Kerry, ~votes, ", call, "))"))
  add(name, "ratio_kerry_votes_se", SE(r), paste0("SE(svyratio(~Kerry, ~votes, ", call, "))"))
  add(name, "degf", degf(d), paste0("degf(", call, ")"))
  if (!startsWith(name, "strat")) {
    b <- svyby(~Kerry, ~big, d, svytotal)
    for (lev in c("non", "oui")) {
      add(name, paste0("total_Kerry_big_", lev), coef(b)[[lev]],
          paste0("coef(svyby(~Kerry, ~big, ", call, ", svytotal))[['", lev, "']]"))
      add(name, paste0("total_Kerry_big_", lev, "_se"), SE(b)[[which(c("non", "oui") == lev)]],
          paste0("SE(svyby(~Kerry, ~big, ", call, ", svytotal))[", which(c("non", "oui") == lev), "]"))
    }
    cal <- calibrate(d, ~TotPrecincts, popcal)
    ccall <- paste0("calibrate(", call, ", ~TotPrecincts, ", popcall, ")")
    tc <- svytotal(~Kerry, cal)
    add(name, "cal_total_Kerry", coef(tc), paste0("coef(svytotal(~Kerry, ", ccall, "))"))
    if (inherits(cal, "pps")) {
      # survey 4.1.1's ppsvar computes the calibration residuals into a variable it never reads (later sources
      # assign them to x): its svytotal on a calibrated pps design is the uncalibrated variance. The reference
      # here is ppsvar applied to the residuals R's own calibration object gives (qr.resid is idempotent, so
      # a corrected ppsvar returns the same).
      ps <- cal$postStrata[[1]]
      x <- as.matrix(el$Kerry / cal$prob)
      xr <- qr.resid(ps$qr, x / ps$w) * ps$w
      add(name, "cal_total_Kerry_se", sqrt(c(survey:::ppsvar(xr, cal))),
          paste0("sqrt(survey:::ppsvar(qr.resid(ps$qr, x/ps$w)*ps$w, cal)), cal = ", ccall,
                 ", ps = cal$postStrata[[1]], x = Kerry/cal$prob"))
      add(name, "cal_total_Kerry_se_svytotal", SE(tc), paste0("SE(svytotal(~Kerry, ", ccall, ")) (survey 4.1.1)"))
    } else {
      add(name, "cal_total_Kerry_se", SE(tc), paste0("SE(svytotal(~Kerry, ", ccall, "))"))
    }
    g <- svyglm(kerry_share ~ TotPrecincts, d)
    add(name, "glm_slope", coef(g)[2], paste0("coef(svyglm(kerry_share ~ TotPrecincts, ", call, "))[2]"))
    add(name, "glm_slope_se", SE(g)[2], paste0("SE(svyglm(kerry_share ~ TotPrecincts, ", call, "))[2]"))
  }
}

# two stages, Brewer's first (R: onestrat takes each PSU's 1 - pi; the second stage's variance is multiplied by pi)
data(api)
set.seed(20171206)
schools <- table(apipop$dnum)
dist <- data.frame(dnum = as.integer(names(schools)), M = as.vector(schools))
dist$pi1 <- inclusionprobabilities(dist$M, 15)
o <- sample(nrow(dist))
drawn <- dist[o, ][UPsystematic(dist$pi1[o]) == 1, ]
parts <- lapply(seq_len(nrow(drawn)), function(k) {
  sch <- apipop[apipop$dnum == drawn$dnum[k], c("dnum", "snum", "stype", "api00", "api99", "enroll")]
  m <- min(3, nrow(sch))
  s <- sch[sample(nrow(sch), m), ]
  s$pi1 <- drawn$pi1[k]
  s$f2 <- m / nrow(sch)
  s$pw <- 1 / (s$pi1 * s$f2)
  s
})
# sorted by PSU: survey 4.1.1's onestrat pairs the per-PSU scales (in the data's order of first appearance) with
# rowsum's PSU totals (in sorted order), so Brewer's 1 - pi go to the wrong PSUs unless the data are sorted
two <- do.call(rbind, parts)
two <- two[order(two$dnum, two$snum), ]
write.csv(two, file.path(out, "pps_twostage.csv"), row.names = FALSE)
tcall <- "svydesign(id=~dnum+snum, fpc=~pi1+f2, data=pps_twostage, pps='brewer')"
two_designs <- list(
  twostage_brewer = list(svydesign(id = ~dnum + snum, fpc = ~pi1 + f2, data = two, pps = "brewer"), tcall),
  twostage_wr = list(svydesign(id = ~dnum + snum, weights = ~pw, data = two),
                     "svydesign(id=~dnum+snum, weights=~pw, data=pps_twostage)"))
for (name in names(two_designs)) {
  d <- two_designs[[name]][[1]]
  call <- two_designs[[name]][[2]]
  m <- svymean(~api00, d)
  add(name, "mean_api00", coef(m), paste0("coef(svymean(~api00, ", call, "))"))
  add(name, "mean_api00_se", SE(m), paste0("SE(svymean(~api00, ", call, "))"))
  t <- svytotal(~api99, d)
  add(name, "total_api99", coef(t), paste0("coef(svytotal(~api99, ", call, "))"))
  add(name, "total_api99_se", SE(t), paste0("SE(svytotal(~api99, ", call, "))"))
  b <- svyby(~api00, ~stype, d, svymean)
  for (k in seq_len(nrow(b))) {
    add(name, paste0("mean_api00_", b$stype[k]), coef(b)[k], paste0("coef(svyby(~api00, ~stype, ", call, ", svymean))[", k, "]"))
    add(name, paste0("mean_api00_", b$stype[k], "_se"), SE(b)[k], paste0("SE(svyby(~api00, ~stype, ", call, ", svymean))[", k, "]"))
  }
}
write.csv(do.call(rbind, rows), file.path(out, "pps.csv"), row.names = FALSE)
