#!/usr/bin/env Rscript
# Reference values for the working (Rao–Scott) likelihood-ratio test of survey GLMs (R survey's
# regTermTest(..., method = "LRT")) and for the distribution functions behind its p-value (pchisqsum,
# pFsum), on the api data as tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_lrt.R
# lrt.approximation = "integration" needs CompQuadForm (R falls back to the saddlepoint without it) and is
# not recorded; R has no other approximation (match.arg refuses any other name).
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_lrt.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "lrt_PROVENANCE.txt"))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
ctl <- glm.control(epsilon = 1e-13, maxit = 100)   # converge far beyond glm's default 1e-8 (update() keeps it)
cmp <- function(fixture, quantity, value, call)
  data.frame(fixture = fixture, quantity = quantity, value = sprintf("%.17g", value), r_call = call)

# fixture → model, its call as written, tested terms, regTermTest's df (NULL: the model's residual df) and approximation
models <- list(
  gauss_strat = list(svyglm(api00 ~ ell + meals + stype, dstrat), "svyglm(api00 ~ ell + meals + stype, dstrat)"),
  logit_strat = list(svyglm(I(sch.wide == "Yes") ~ ell + meals + stype, dstrat, family = quasibinomial(), control = ctl),
                     "svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dstrat, family=quasibinomial())"),
  binomial_strat = list(suppressWarnings(svyglm(I(sch.wide == "Yes") ~ ell + meals + stype, dstrat, family = binomial(),
                                                control = ctl)),
                        "svyglm(I(sch.wide=='Yes') ~ ell + meals + stype, dstrat, family=binomial())"),
  gauss_clus1 = list(svyglm(api00 ~ ell + meals + stype, dclus1), "svyglm(api00 ~ ell + meals + stype, dclus1)"),
  logit_clus1 = list(svyglm(I(comp.imp == "Yes") ~ api99 + stype, dclus1, family = quasibinomial(), control = ctl),
                     "svyglm(I(comp.imp=='Yes') ~ api99 + stype, dclus1, family=quasibinomial())"),
  poisson_strat = list(svyglm(enroll ~ stype + meals, dstrat, family = quasipoisson(), control = ctl),
                       "svyglm(enroll ~ stype + meals, dstrat, family=quasipoisson())"),
  poisson_offset = list(svyglm(I(ell * enroll / 100) ~ stype + meals + offset(log(enroll)), dstrat, family = quasipoisson(),
                               control = ctl),
                        "svyglm(I(ell * enroll / 100) ~ stype + meals + offset(log(enroll)), dstrat, family=quasipoisson())"),
  inter_clus1 = list(svyglm(api00 ~ stype * ell + meals, dclus1), "svyglm(api00 ~ stype * ell + meals, dclus1)"),
  # a subset of a design without calibration: R drops the other rows, and rescales by the mean weight of those kept
  gauss_sub = list(svyglm(api00 ~ ell + meals + stype, subset(dstrat, meals > 40)),
                   "svyglm(api00 ~ ell + meals + stype, subset(dstrat, meals > 40))"),
  gauss_jk1 = list(svyglm(api00 ~ ell + meals + stype, rclus1),
                   "svyglm(api00 ~ ell + meals + stype, as.svrepdesign(dclus1, type='JK1'))"),
  logit_jk1 = list(svyglm(I(sch.wide == "Yes") ~ ell + stype, rclus1, family = quasibinomial(), control = ctl),
                   "svyglm(I(sch.wide=='Yes') ~ ell + stype, as.svrepdesign(dclus1, type='JK1'), family=quasibinomial())"))
tests <- list(
  list("gauss_strat", ~stype, NULL, "saddlepoint"), list("gauss_strat", ~stype, NULL, "satterthwaite"),
  list("gauss_strat", ~stype, Inf, "saddlepoint"), list("gauss_strat", ~stype, Inf, "satterthwaite"),
  list("gauss_strat", ~ell, NULL, "saddlepoint"),
  list("logit_strat", ~stype, NULL, "saddlepoint"), list("logit_strat", ~ell, NULL, "saddlepoint"),
  list("logit_strat", ~stype, NULL, "satterthwaite"), list("logit_strat", ~stype, Inf, "saddlepoint"),
  list("binomial_strat", ~stype, NULL, "saddlepoint"),
  list("gauss_clus1", ~stype, NULL, "saddlepoint"), list("gauss_clus1", ~ell + stype, NULL, "saddlepoint"),
  list("gauss_clus1", ~stype, Inf, "saddlepoint"), list("gauss_clus1", ~stype, NULL, "satterthwaite"),
  list("logit_clus1", ~stype, NULL, "saddlepoint"), list("logit_clus1", ~stype, Inf, "satterthwaite"),
  list("poisson_strat", ~stype, NULL, "saddlepoint"), list("poisson_strat", ~meals, NULL, "saddlepoint"),
  list("poisson_offset", ~stype, NULL, "saddlepoint"),
  list("inter_clus1", ~stype:ell, NULL, "saddlepoint"),
  list("gauss_sub", ~stype, NULL, "saddlepoint"), list("gauss_jk1", ~stype, NULL, "saddlepoint"), list("logit_jk1", ~stype, NULL, "saddlepoint"),
  list("logit_jk1", ~ell, Inf, "saddlepoint"))
rows <- list()
for (t in tests) {
  g <- models[[t[[1]]]][[1]]
  rt <- regTermTest(g, t[[2]], df = t[[3]], method = "LRT", lrt.approximation = t[[4]])
  dfname <- if (is.null(t[[3]])) "resid" else "inf"
  fixture <- paste(t[[1]], gsub("[~ ]", "", deparse(t[[2]])), dfname, t[[4]], sep = "_")
  call <- paste0("regTermTest(", models[[t[[1]]]][[2]], ", ", deparse(t[[2]]),
                 if (is.null(t[[3]])) "" else ", df=Inf", ", method='LRT', lrt.approximation='", t[[4]], "')")
  lambda <- sort(Re(rt$lambda), decreasing = TRUE)
  g0 <- eval(bquote(update(g, . ~ . - (.(t[[2]][[2]])))))
  rows[[length(rows) + 1]] <- rbind(
    cmp(fixture, "chisq", rt$chisq, paste0(call, "$chisq")),
    cmp(fixture, paste0("lambda_", seq_along(lambda)), lambda, paste0("sort(", call, "$lambda, decreasing=TRUE)")),
    cmp(fixture, "df", rt$df, paste0(call, "$df")),
    cmp(fixture, "ddf", rt$ddf, paste0(call, "$ddf")),
    cmp(fixture, "p", rt$p, paste0(call, "$p")),
    cmp(fixture, "deviance_full", deviance(g), paste0("deviance(", models[[t[[1]]]][[2]], ")")),
    cmp(fixture, "deviance_reduced", deviance(g0), paste0("deviance(update(", models[[t[[1]]]][[2]], ", . ~ . - ",
                                                          deparse(t[[2]][[2]]), "))")))
}

# the distribution functions alone: upper tails of Σ a_i χ²_1 (pchisqsum) and of Σ a_i χ²_1 / (χ²_ddf / ddf)
# (pFsum), from the centre (at the mean the saddlepoint is not used: |ζ̂| < 1e-4 falls back to Satterthwaite)
# to far in the tail
dists <- list(a1 = c(3, 1, 0.5), a2 = c(5, 0.2), a3 = c(1.2, 0.9, 0.8, 0.4, 0.1), a4 = 2)
for (name in names(dists)) {
  a <- dists[[name]]
  for (m in c(0.3, 1, 2, 5, 15)) {
    x <- m * sum(a)
    for (meth in c("saddlepoint", "satterthwaite")) {
      fx <- paste0(name, "_", m, "_", meth)
      av <- paste0("c(", paste(a, collapse = ", "), ")")
      rows[[length(rows) + 1]] <- rbind(
        cmp(fx, "pchisqsum", pchisqsum(x, rep(1, length(a)), a, lower.tail = FALSE, method = meth),
            paste0("pchisqsum(", x, ", rep(1, ", length(a), "), ", av, ", lower.tail=FALSE, method='", meth, "')")),
        cmp(fx, "pFsum_30", pFsum(x, rep(1, length(a)), a, ddf = 30, lower.tail = FALSE, method = meth),
            paste0("pFsum(", x, ", rep(1, ", length(a), "), ", av, ", ddf=30, lower.tail=FALSE, method='", meth, "')")))
    }
  }
}
write.csv(do.call(rbind, rows), file.path(out, "lrt.csv"), row.names = FALSE)
cat("wrote", file.path(out, "lrt.csv"), "\n")
