#!/usr/bin/env Rscript
# Reference values for multistage designs with a finite-population correction at each stage (R survey's
# svyrecvar: first-stage variance plus, within each first-stage unit, the second stage's variance times the
# first stage's sampling fraction), on R's two-stage cluster sample apiclus2 (districts, then schools).
# Run by hand from the repository root (the tests only read the CSVs this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_multistage.R
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_multistage.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "multistage_PROVENANCE.txt"))
keep <- c("cds", "snum", "dnum", "stype", "api00", "api99", "enroll", "api.stu", "meals", "pw", "fpc1", "fpc2")
write.csv(apiclus2[, keep], file.path(out, "apiclus2.csv"), row.names = FALSE)

# the calibration totals of make_fixtures.R (school types of apipop)
pop_stype <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
d2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
d2u <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
d2cal <- calibrate(d2, ~stype, pop_stype)
D2 <- "svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)"
D2U <- "svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)"
D2CAL <- paste0("calibrate(", D2, ", ~stype, c(6194, 755, 1018))")

row <- function(fixture, statistic, variable, domain, est, call)
  data.frame(fixture = fixture, statistic = statistic, variable = variable, domain = domain,
             estimate = sprintf("%.17g", coef(est)), se = sprintf("%.17g", SE(est)), r_call = call)
rows <- list(
  row("twostage", "mean", "api00", "", svymean(~api00, d2), paste0("svymean(~api00, ", D2, ")")),
  row("twostage", "total", "enroll", "", svytotal(~enroll, d2, na.rm = TRUE),
      paste0("svytotal(~enroll, ", D2, ", na.rm=TRUE)")),
  row("twostage", "ratio", "api.stu/enroll", "", svyratio(~api.stu, ~enroll, d2, na.rm = TRUE),
      paste0("svyratio(~api.stu, ~enroll, ", D2, ", na.rm=TRUE)")),
  row("subset", "mean", "api00", "stype=E", svymean(~api00, subset(d2, stype == "E")),
      paste0("svymean(~api00, subset(", D2, ", stype=='E'))")),
  row("calibrated", "mean", "api00", "", svymean(~api00, d2cal), paste0("svymean(~api00, ", D2CAL, ")")),
  row("calibrated", "total", "enroll", "", svytotal(~enroll, d2cal, na.rm = TRUE),
      paste0("svytotal(~enroll, ", D2CAL, ", na.rm=TRUE)")),
  row("nofpc", "mean", "api00", "", svymean(~api00, d2u), paste0("svymean(~api00, ", D2U, ")")),
  row("nofpc", "total", "enroll", "", svytotal(~enroll, d2u, na.rm = TRUE),
      paste0("svytotal(~enroll, ", D2U, ", na.rm=TRUE)")))
by <- svyby(~api00, ~stype, d2, svymean)
for (s in rownames(by))
  rows[[length(rows) + 1]] <- data.frame(fixture = "twostage", statistic = "mean", variable = "api00",
    domain = paste0("stype=", s), estimate = sprintf("%.17g", by[s, "api00"]), se = sprintf("%.17g", by[s, "se"]),
    r_call = paste0("svyby(~api00, ~stype, ", D2, ", svymean)['", s, "', ]"))
# R's survey.ultimate.cluster option: the first stage's clusters and fpc only
options(survey.ultimate.cluster = TRUE)
rows[[length(rows) + 1]] <- row("ultimate", "mean", "api00", "", svymean(~api00, d2),
  paste0("options(survey.ultimate.cluster=TRUE); svymean(~api00, ", D2, ")"))
options(survey.ultimate.cluster = FALSE)
# replicates: as.svrepdesign keeps the first stage only (its warning says the later fpcs are dropped)
r2 <- suppressWarnings(as.svrepdesign(d2, type = "JK1"))
rows[[length(rows) + 1]] <- row("jk1", "mean", "api00", "", svymean(~api00, r2),
  paste0("svymean(~api00, as.svrepdesign(", D2, ", type='JK1'))"))
write.csv(do.call(rbind, rows), file.path(out, "multistage.csv"), row.names = FALSE)

# three stages, strata at the first two (stage 2's within each PSU), on simulated data written beside the values
set.seed(7)
units <- list()
for (h in 1:2) for (i in 1:(2 + h)) {
  k <- sample(1:3, 1)
  for (j in 1:(1 + k)) {
    m <- sample(2:3, 1)
    for (l in 1:m) units[[length(units) + 1]] <- data.frame(h = h, psu = i, g = ifelse(j %% 2 == 0, "a", "b"), ssu = j,
      tsu = l, N1 = 10 + h, N2 = 8, N3 = m + 2, y = rnorm(1, 10 + h + i, 3), w = 1)
  }
}
sim3 <- do.call(rbind, units)
write.csv(sim3, file.path(out, "multistage_three_stages.csv"), row.names = FALSE)
d3 <- svydesign(id = ~psu + ssu + tsu, strata = ~h + g, fpc = ~N1 + N2 + N3, weights = ~w, data = sim3, nest = TRUE)
D3 <- "svydesign(id=~psu+ssu+tsu, strata=~h+g, fpc=~N1+N2+N3, weights=~w, data=sim3, nest=TRUE)"
options(survey.lonely.psu = "adjust")   # stage 2 has strata of a single SSU
three <- rbind(row("threestage", "total", "y", "", svytotal(~y, d3),
                   paste0("options(survey.lonely.psu='adjust'); svytotal(~y, ", D3, ")")),
               row("threestage", "mean", "y", "", svymean(~y, d3),
                   paste0("options(survey.lonely.psu='adjust'); svymean(~y, ", D3, ")")))
write.csv(rbind(read.csv(file.path(out, "multistage.csv"), colClasses = "character"), three),
          file.path(out, "multistage.csv"), row.names = FALSE)

# Stage 2 with single-school strata (two districts keep only their first sampled school), R's « average » by domain:
# R's subset of a design without calibration drops the rows outside the domain, so a district without a school of
# the domain is absent; where one is present with its single school, the domain's variance is NaN, as R gives it.
many <- sort(as.numeric(names(which(table(apiclus2$dnum) >= 2))))[1:2]
acl <- apiclus2[-unlist(lapply(many, function(d) which(apiclus2$dnum == d)[-1])), ]
options(survey.lonely.psu = "average")
dl2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = acl)
bl <- svyby(~api00, ~stype, dl2, svymean)
DL2 <- "svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2 less all but the first school of two districts)"
lonely2 <- do.call(rbind, lapply(seq_len(nrow(bl)), function(i)
  data.frame(fixture = "twostage_lonely_average", statistic = "mean", variable = "api00",
             domain = paste0("stype=", bl$stype[i]), estimate = sprintf("%.17g", coef(bl)[i]),
             se = sprintf("%.17g", SE(bl)[i]),
             r_call = paste0("options(survey.lonely.psu='average'); svyby(~api00, ~stype, ", DL2, ", svymean)"))))
options(survey.lonely.psu = "fail")
write.csv(rbind(read.csv(file.path(out, "multistage.csv"), colClasses = "character"), lonely2),
          file.path(out, "multistage.csv"), row.names = FALSE)
