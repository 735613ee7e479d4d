#!/usr/bin/env Rscript
# Reference values for the joint covariance of several survey GLMs fitted on one design (portrait's
# survey.joint_vcov), on the api data as tests/reference/fixtures/apistrat.csv and apiclus1.csv hold them.
# R has no function for it; a user stacks what R's own variances are made of:
# - linearisation: each fit's influence (estfun %*% naive.cov, as svy.varcoef builds it; svyglm's
#   influence = TRUE would return it, but survey 4.1.1 fails there on a typo, « estfun < … »), side by side,
#   through svyrecvar;
# - replicates: each fit's replicate coefficients (return.replicates = TRUE), side by side, through svrVar.
# The diagonal blocks are each fit's vcov(); the script stops if they are not.
# Run by hand from the repository root (the tests only read the CSV this writes):
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/make_fixtures_joint.R
suppressPackageStartupMessages(library(survey))
out <- "tests/reference/fixtures"
data(api)
write(paste0("make_fixtures_joint.R: ", R.version.string, "; survey ", packageVersion("survey")),
      file.path(out, "joint_PROVENANCE.txt"))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
ctl <- glm.control(epsilon = 1e-13, maxit = 100)

influence <- function(g) (model.matrix(g) * resid(g, "working") * g$weights) %*% g$naive.cov
joint <- function(fits, design) {
  if (inherits(design, "svyrep.design"))
    V <- svrVar(do.call(cbind, lapply(fits, function(g) g$replicates)), design$scale, design$rscales,
                mse = design$mse, coef = unlist(lapply(fits, coef)))
  else
    V <- svyrecvar(do.call(cbind, lapply(fits, influence)), design$cluster, design$strata, design$fpc,
                   postStrata = design$postStrata)
  at <- 0
  for (g in fits) {          # each fit's own block is its vcov()
    k <- at + seq_along(coef(g))
    same <- all.equal(unname(V[k, k]), unname(matrix(vcov(g), length(k))), tolerance = 1e-12)
    if (!isTRUE(same)) stop("a fit's block of the joint covariance is not its vcov(): ", same)
    at <- at + length(coef(g))
  }
  V
}
fit <- function(formula, design, family = quasibinomial()) {
  if (inherits(design, "svyrep.design"))
    svyglm(formula, design, family = family, control = ctl, return.replicates = TRUE)
  else svyglm(formula, design, family = family, control = ctl)
}

# fixture → the fits (formula, family), the design and its name as the call shows it
cases <- list(
  cuts_clus1 = list(list(I(api00 > 600) ~ stype + ell, I(api00 > 700) ~ stype + ell), dclus1, "dclus1"),
  cuts_strat = list(list(I(api00 > 600) ~ ell + meals, I(api00 > 700) ~ ell + meals, I(api00 > 800) ~ ell + meals),
                    dstrat, "dstrat"),
  cuts_jk1 = list(list(I(api00 > 600) ~ stype + ell, I(api00 > 700) ~ stype + ell), rclus1, "rclus1"),
  mixed_strat = list(list(api00 ~ ell + stype, I(api00 > 700) ~ ell + stype), dstrat, "dstrat"))
rows <- list()
for (name in names(cases)) {
  case <- cases[[name]]
  fits <- lapply(seq_along(case[[1]]), function(i) {
    family <- if (name == "mixed_strat" && i == 1) gaussian() else quasibinomial()
    fit(case[[1]][[i]], case[[2]], family)
  })
  V <- joint(fits, case[[2]])
  call <- paste0(case[[3]], ": ", paste(sapply(case[[1]], function(f) paste(deparse(f), collapse = "")), collapse = " ; "))
  rows[[name]] <- data.frame(fixture = name, i = rep(seq_len(nrow(V)), ncol(V)), j = rep(seq_len(ncol(V)), each = nrow(V)),
                             value = sprintf("%.17g", as.vector(V)), r_call = call)
}
write.csv(do.call(rbind, rows), file.path(out, "joint_vcov.csv"), row.names = FALSE)
