# Reference values for rapport.psychometrics.multilevel from lme4.
#
# Usage (from the repository root; needs R >= 4.2 with lme4, Debian r-cran-lme4):
#   Rscript rapport/psychometrics/tests/reference/make_multilevel_reference.R
# writes, next to this script,
#   multilevel_clients.csv      a seeded synthetic clinic: therapist, trust, alliance,
#                               dropout (0/1), language ("es" / "en"); 30 therapists with
#                               caseloads from 3 to 60 clients
#   multilevel_reference.json   lme4 estimates, printed with 17 significant digits.
# CI never runs R: both files are committed.
#
# Models:
#   lmer(trust ~ 1 + (1 | therapist), REML = TRUE)       (same for alliance)
#   glmer(dropout ~ 1 + (1 | therapist), family = binomial, nAGQ = 1)   (Laplace)
# recorded: fixed intercept and its standard error, variance components, the random
# effects (ranef) and their conditional variances (condVar), and the log-likelihood.
#
# The within-therapist language gap ("es" minus "en") is computed here from the
# formulas in rapport/psychometrics/multilevel.py (REML random-effects meta-analysis of
# per-therapist gaps, in base R with optimize): an independent implementation, not an
# lme4 fit, because metafor is not packaged in Debian bookworm.

suppressPackageStartupMessages(library(lme4))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(file_arg)) dirname(normalizePath(file_arg)) else "."

set.seed(20261206)
n_therapists <- 30
caseload <- c(3, 3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 22, 25, 25, 28,
              30, 32, 35, 36, 38, 40, 40, 42, 45, 48, 50, 52, 55, 58, 60)
therapist <- rep(sprintf("t%02d", seq_len(n_therapists)), caseload)
u_trust <- rnorm(n_therapists, 0, 0.35)
u_alliance <- rnorm(n_therapists, 0, 0.25)
u_dropout <- rnorm(n_therapists, 0, 0.6)
gap <- rnorm(n_therapists, -0.3, 0.25)
idx <- match(therapist, sprintf("t%02d", seq_len(n_therapists)))
language <- ifelse(runif(length(idx)) < 0.4, "es", "en")
es <- as.numeric(language == "es")
trust <- round(5.2 + u_trust[idx] + es * gap[idx] + rnorm(length(idx), 0, 0.9), 3)
alliance <- round(3.8 + u_alliance[idx] + rnorm(length(idx), 0, 0.7), 3)
dropout <- rbinom(length(idx), 1, plogis(-1.2 + u_dropout[idx]))
dat <- data.frame(therapist, trust, alliance, dropout, language)
write.csv(dat, file.path(here, "multilevel_clients.csv"), row.names = FALSE)

num <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
lin <- function(outcome) {
  fit <- lmer(as.formula(paste(outcome, "~ 1 + (1 | therapist)")), data = dat, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhobeg = 1e-3, rhoend = 1e-12)))
  re <- ranef(fit, condVar = TRUE)$therapist
  vc <- as.data.frame(VarCorr(fit))
  sprintf(paste0('"%s": {"intercept": %.17g, "intercept_se": %.17g, "tau2": %.17g, ',
                 '"sigma2": %.17g, "reml": %.17g, "therapists": [%s], "ranef": %s, ',
                 '"condvar": %s}'),
          outcome, fixef(fit)[[1]], sqrt(vcov(fit)[1, 1]), vc$vcov[1], vc$vcov[2],
          REMLcrit(fit), paste0('"', rownames(re), '"', collapse = ", "),
          num(re[, 1]), num(attr(re, "postVar")[1, 1, ]))
}
bin <- function(outcome) {
  fit <- glmer(as.formula(paste(outcome, "~ 1 + (1 | therapist)")), data = dat,
               family = binomial, nAGQ = 1,
               control = glmerControl(optimizer = "bobyqa",
                                      optCtrl = list(rhobeg = 1e-3, rhoend = 1e-12)))
  re <- ranef(fit, condVar = TRUE)$therapist
  vc <- as.data.frame(VarCorr(fit))
  sprintf(paste0('"%s": {"intercept": %.17g, "intercept_se": %.17g, "tau2": %.17g, ',
                 '"loglik": %.17g, "therapists": [%s], "ranef": %s, "condvar": %s}'),
          outcome, fixef(fit)[[1]], sqrt(vcov(fit)[1, 1]), vc$vcov[1],
          as.numeric(logLik(fit)), paste0('"', rownames(re), '"', collapse = ", "),
          num(re[, 1]), num(attr(re, "postVar")[1, 1, ]))
}

# Language gap, es minus en, per therapist with at least two clients in each group.
cells <- aggregate(trust ~ therapist + language, data = dat,
                   FUN = function(x) c(n = length(x), m = mean(x), v = var(x)))
cells <- do.call(data.frame, cells)
s2 <- sum((cells$trust.n - 1) * ifelse(is.na(cells$trust.v), 0, cells$trust.v)) /
  sum(cells$trust.n - 1)
wide <- reshape(cells[, c("therapist", "language", "trust.n", "trust.m")],
                idvar = "therapist", timevar = "language", direction = "wide")
wide <- wide[order(wide$therapist), ]
ok <- !is.na(wide$trust.n.es) & !is.na(wide$trust.n.en) &
  wide$trust.n.es >= 2 & wide$trust.n.en >= 2
d <- wide$trust.m.es[ok] - wide$trust.m.en[ok]
v <- s2 * (1 / wide$trust.n.es[ok] + 1 / wide$trust.n.en[ok])
reml <- function(t2) {
  w <- 1 / (v + t2); delta <- sum(w * d) / sum(w)
  sum(log(v + t2)) + log(sum(w)) + sum(w * (d - delta)^2)
}
t2 <- optimize(reml, c(0, 10 * var(d)), tol = 1e-14)$minimum
if (reml(0) < reml(t2)) t2 <- 0
w <- 1 / (v + t2); delta <- sum(w * d) / sum(w)
k <- t2 / (t2 + v)
gap_json <- sprintf(paste0('"trust_gap_es": {"clinic_gap": %.17g, "clinic_gap_se": %.17g, ',
                           '"tau2": %.17g, "therapists": [%s], "gap": %s, "se": %s}'),
                    delta, sqrt(1 / sum(w)), t2,
                    paste0('"', wide$therapist[ok], '"', collapse = ", "),
                    num(delta + k * (d - delta)),
                    num(sqrt(t2 * (1 - k) + (1 - k)^2 / sum(w))))

json <- paste0("{\n", paste(c(
  sprintf('"versions": {"R": "%s", "lme4": "%s"}', getRversion(), packageVersion("lme4")),
  lin("trust"), lin("alliance"), bin("dropout"), gap_json), collapse = ",\n"), "\n}\n")
writeLines(json, file.path(here, "multilevel_reference.json"), sep = "")
