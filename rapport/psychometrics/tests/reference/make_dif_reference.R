# Reference values for rapport.psychometrics.dif from MASS::polr (logistic link).
#
# Usage (from the repository root; needs R >= 4.2 with MASS):
#   .venv/bin/python rapport/psychometrics/tests/reference/dif_make_data.py
#   Rscript rapport/psychometrics/tests/reference/make_dif_reference.R
# writes rapport/psychometrics/tests/reference/dif_reference.json (numbers printed with
# 17 significant digits, i.e. full double precision).  CI never runs R: the JSON is committed.
#
# For every item and grouping it fits the nested proportional-odds models
#   M0: item ~ 1
#   M1: item ~ score
#   M2: item ~ score + group
#   M3: item ~ score + group + score:group
# and records the log-likelihoods, the likelihood-ratio statistics
#   uniform = 2(l2 - l1), df = G - 1;  non-uniform = 2(l3 - l2), df = G - 1;
#   total = 2(l3 - l1), df = 2(G - 1)
# with upper-tail chi-square p-values, and all coefficients and thresholds (zeta).
#
# Matching scores:
#   "total"    : sum of all eight items (the studied item included);
#   "purified" : sum of the anchor items d1 d2 d4 d6 d7 d8 plus the studied item, i.e. the
#                matching score a purification that flags exactly d3 and d5 converges to.
# Empty response categories are dropped with droplevels() (item d8 never uses 2).
#
# The matching score is mean-centred before fitting: this changes only the thresholds
# (zeta), not the slopes or the likelihood, and makes polr's BFGS optimiser converge to
# ~1e-9 in the slopes (uncentred, BFGS stops ~1e-6 away along the ill-conditioned
# threshold/slope direction even at reltol = 1e-15).
#
# polr is run with control = list(reltol = 1e-15, maxit = 10000) and then restarted once
# from its own solution: polr's default optim tolerance (reltol ~ 1.5e-8) leaves errors of
# order 1e-5 in the log-likelihood.

suppressPackageStartupMessages(library(MASS))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(file_arg)) dirname(normalizePath(file_arg)) else "."
dat <- read.csv(file.path(here, "dif_items.csv"), stringsAsFactors = FALSE)

items <- paste0("d", 1:8)
anchors <- c("d1", "d2", "d4", "d6", "d7", "d8")

fit_polr <- function(formula, data) {
  ctl <- list(reltol = 1e-15, maxit = 10000)
  f1 <- polr(formula, data = data, method = "logistic", control = ctl)
  start <- c(coef(f1), f1$zeta)
  polr(formula, data = data, method = "logistic", control = ctl, start = start)
}

num <- function(x) {
  if (length(x) == 0) return("[]")
  paste0("[", paste(sprintf("%.17g", unname(x)), collapse = ", "), "]")
}
str_json <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")

records <- character(0)
for (grouping in c("group", "group3")) {
  for (matching in c("total", "purified")) {
    for (item in items) {
      cols <- if (matching == "total") items else union(anchors, item)
      d <- data.frame(
        y = droplevels(factor(dat[[item]], ordered = TRUE)),
        score = rowSums(dat[, cols]) - mean(rowSums(dat[, cols])),
        g = factor(dat[[grouping]])
      )
      G <- nlevels(d$g)
      m0 <- fit_polr(y ~ 1, d)
      m1 <- fit_polr(y ~ score, d)
      m2 <- fit_polr(y ~ score + g, d)
      m3 <- fit_polr(y ~ score * g, d)
      ll <- c(m0 = logLik(m0), m1 = logLik(m1), m2 = logLik(m2), m3 = logLik(m3))
      lr_u <- 2 * (ll[["m2"]] - ll[["m1"]])
      lr_n <- 2 * (ll[["m3"]] - ll[["m2"]])
      lr_t <- 2 * (ll[["m3"]] - ll[["m1"]])
      rec <- paste0(
        "{",
        '"grouping": "', grouping, '", ',
        '"matching": "', matching, '", ',
        '"item": "', item, '", ',
        '"n": ', nrow(d), ", ",
        '"levels": ', str_json(levels(d$y)), ", ",
        '"groups": ', str_json(levels(d$g)), ", ",
        '"llf": {"m0": ', sprintf("%.17g", ll[["m0"]]),
        ', "m1": ', sprintf("%.17g", ll[["m1"]]),
        ', "m2": ', sprintf("%.17g", ll[["m2"]]),
        ', "m3": ', sprintf("%.17g", ll[["m3"]]), "}, ",
        '"lr_uniform": ', sprintf("%.17g", lr_u), ", ",
        '"p_uniform": ', sprintf("%.17g", pchisq(lr_u, G - 1, lower.tail = FALSE)), ", ",
        '"lr_nonuniform": ', sprintf("%.17g", lr_n), ", ",
        '"p_nonuniform": ', sprintf("%.17g", pchisq(lr_n, G - 1, lower.tail = FALSE)), ", ",
        '"lr_total": ', sprintf("%.17g", lr_t), ", ",
        '"p_total": ', sprintf("%.17g", pchisq(lr_t, 2 * (G - 1), lower.tail = FALSE)), ", ",
        '"coef": {',
        '"m1": ', num(coef(m1)), ", ",
        '"m2": ', num(coef(m2)), ", ",
        '"m3": ', num(coef(m3)), "}, ",
        '"coef_names": {',
        '"m1": ', str_json(names(coef(m1))), ", ",
        '"m2": ', str_json(names(coef(m2))), ", ",
        '"m3": ', str_json(names(coef(m3))), "}, ",
        '"zeta": {',
        '"m0": ', num(m0$zeta), ", ",
        '"m1": ', num(m1$zeta), ", ",
        '"m2": ', num(m2$zeta), ", ",
        '"m3": ', num(m3$zeta), "}",
        "}"
      )
      records <- c(records, rec)
    }
  }
}

meta <- paste0(
  '{"generator": "make_dif_reference.R", "R": "', R.version$version.string,
  '", "MASS": "', as.character(packageVersion("MASS")),
  '", "data": "dif_items.csv", "anchors": ', str_json(anchors), "}"
)
out <- paste0('{"meta": ', meta, ',\n"records": [\n', paste(records, collapse = ",\n"), "\n]}\n")
writeLines(out, file.path(here, "dif_reference.json"), sep = "")
cat("wrote", file.path(here, "dif_reference.json"), "with", length(records), "records\n")
