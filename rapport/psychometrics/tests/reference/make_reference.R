#!/usr/bin/env Rscript
# Reference values for rapport.psychometrics (reliability, omega, correlation).
#
# Regenerate (from the repository root; needs R with psych and GPArotation:
#   apt-get install -y --no-install-recommends r-base-core r-cran-psych r-cran-mass r-cran-gparotation):
#
#   .venv/bin/python rapport/psychometrics/tests/reference/make_data.py   # synthetic CSVs (seeded)
#   Rscript rapport/psychometrics/tests/reference/make_reference.R        # JSON fixtures
#
# The tests only read the committed JSON files; they never run R.
# Numbers are written with sprintf("%.17g") (full double precision) by the tiny
# JSON writer below, so the script needs no JSON package.

suppressPackageStartupMessages(library(psych))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", grep("^--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else getwd()

# ---------------------------------------------------------------- JSON writer
json_str <- function(s) paste0('"', gsub('"', '\\\\"', gsub("\\\\", "\\\\\\\\", s)), '"')
json_num <- function(v) ifelse(is.na(v), "null", ifelse(is.infinite(v),
  ifelse(v > 0, "1e999", "-1e999"), sprintf("%.17g", v)))
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- vapply(names(x), function(nm) paste0(json_str(nm), ": ", to_json(x[[nm]])), "")
      return(paste0("{", paste(parts, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ", "), "]"))
  }
  vals <- if (is.character(x)) vapply(x, json_str, "", USE.NAMES = FALSE)
          else if (is.logical(x)) ifelse(is.na(x), "null", ifelse(x, "true", "false"))
          else json_num(as.numeric(x))
  if (length(x) == 1 && !inherits(x, "AsIs")) vals else paste0("[", paste(vals, collapse = ", "), "]")
}
write_json <- function(obj, name) {
  writeLines(to_json(obj), file.path(here, name))
  cat("wrote", name, "\n")
}
vec <- function(x) I(as.numeric(unlist(x)))  # always an array

meta <- list(R = R.version.string, psych = as.character(packageVersion("psych")),
             GPArotation = as.character(packageVersion("GPArotation")))

# ---------------------------------------------------------------- alpha
# psych 2.2.9 builds R = cov2cor(C); psych >= 2.4.1 uses R = cor(x, use) on the keyed
# data.  The "modern" block recomputes the R-based statistics with the latter rule
# (formulas of psych's alpha.1: std.alpha = (1 - k/sum(R)) k/(k-1); std.r = colSums(R)/sqrt(sum(R))).
std_alpha_of <- function(R) { k <- ncol(R); (1 - k / sum(R)) * k / (k - 1) }

alpha_case <- function(file, use = "pairwise", keys = NULL) {
  x <- read.csv(file.path(here, file))
  a <- psych::alpha(x, keys = keys, use = use, warnings = FALSE)
  k <- ncol(x)
  # keyed data exactly as psych flips it: (global max + global min) - x
  xk <- x
  if (!is.null(keys)) {
    adj <- max(x, na.rm = TRUE) + min(x, na.rm = TRUE)
    xk[, keys] <- adj - x[, keys]
  }
  Rm <- cor(xk, use = use)
  st <- a$item.stats
  dr <- a$alpha.drop
  list(
    meta = meta, file = file, use = use, keys = if (is.null(keys)) I(character(0)) else I(keys),
    n = nrow(x), k = k,
    alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
    average_r = a$total$average_r, ase = a$total$ase,
    total_mean = a$total$mean, total_sd = a$total$sd,
    feldt_ci = vec(c(a$feldt$lower.ci, a$feldt$upper.ci)),
    duhachek_ci = vec(c(a$total$raw_alpha - 1.96 * a$total$ase,
                        a$total$raw_alpha + 1.96 * a$total$ase)),
    items = list(
      item = I(sub("-$", "", rownames(st))), n = vec(st$n), mean = vec(st$mean), sd = vec(st$sd),
      raw_r = vec(st$raw.r), std_r = vec(st$std.r), r_cor = vec(st$r.cor), r_drop = vec(st$r.drop),
      alpha_if_dropped = vec(dr$raw_alpha), std_alpha_if_dropped = vec(dr$std.alpha),
      alpha_se_if_dropped = vec(dr[["alpha se"]])
    ),
    modern = list(
      std_alpha = std_alpha_of(Rm),
      std_r = vec(colSums(Rm) / sqrt(sum(Rm))),
      std_alpha_if_dropped = vec(sapply(seq_len(k), function(i) std_alpha_of(Rm[-i, -i])))
    )
  )
}

write_json(list(
  complete = alpha_case("alpha_complete.csv"),
  complete_listwise = alpha_case("alpha_complete.csv", use = "complete.obs"),
  missing_pairwise = alpha_case("alpha_missing.csv"),
  missing_listwise = alpha_case("alpha_missing.csv", use = "complete.obs"),
  reverse_pairwise = alpha_case("alpha_reverse.csv", keys = c("q3", "q7")),
  reverse_listwise = alpha_case("alpha_reverse.csv", use = "complete.obs", keys = c("q3", "q7"))
), "alpha_reference.json")

# Large n: the complete data stacked 120 times (n = 60,000 > 57,144), where R's qf()
# switches to its chi-square limit ((n-1)(k-1) > 4e5).  Python rebuilds the same rows.
big <- read.csv(file.path(here, "alpha_complete.csv"))
big <- big[rep(seq_len(nrow(big)), 120), ]
ab <- psych::alpha(big, warnings = FALSE)
qf_cases <- list(c(0.975, 9, 10), c(0.025, 499, 3493), c(0.975, 59999, 419993),
                 c(0.025, 59999, 419993), c(0.975, 57143, 400001), c(0.975, 57142, 399994),
                 c(0.975, 450000, 420000), c(0.025, 450000, 420000), c(0.975, 5e5, 4e5 - 1))
write_json(list(
  meta = meta, n = nrow(big), k = ncol(big), repeats = 120,
  alpha = ab$total$raw_alpha, std_alpha = ab$total$std.alpha,
  feldt_ci = vec(c(ab$feldt$lower.ci, ab$feldt$upper.ci)),
  qf = lapply(qf_cases, function(cs) list(p = cs[1], df1 = cs[2], df2 = cs[3],
                                           value = qf(cs[1], cs[2], cs[3])))
), "alpha_large_reference.json")

# ---------------------------------------------------------------- omega (one factor)
omega_case <- function(file) {
  x <- read.csv(file.path(here, file))
  om <- suppressWarnings(psych::omega(x, nfactors = 1, plot = FALSE))
  list(meta = meta, file = file, omega_total = om$omega.tot, omega_h = om$omega_h,
       alpha_std = om$alpha, loadings = vec(om$schmid$sl[, 1]), u2 = vec(om$schmid$sl[, "u2"]))
}
write_json(list(complete = omega_case("alpha_complete.csv"),
                missing_pairwise = omega_case("alpha_missing.csv")),
           "omega_reference.json")

# ---------------------------------------------------------------- correlation
d <- read.csv(file.path(here, "correlation.csv"))
ct_case <- function(x, y, conf.level = 0.95) {
  ok <- complete.cases(x, y)
  ct <- cor.test(x, y, conf.level = conf.level)
  list(n = sum(ok), conf_level = conf.level, r = unname(ct$estimate),
       ci = vec(ct$conf.int), t = unname(ct$statistic), df = unname(ct$parameter),
       p = ct$p.value)
}
main <- ct_case(d$trust, d$alliance)
small <- ct_case(d$trust[1:12], -d$alliance[1:12] + 0.3 * d$trust[1:12], 0.9)
# vs a published value treated as fixed (Fisher z, two-sided normal p)
z_fixed <- (atanh(main$r) - atanh(0.53)) * sqrt(main$n - 3)
# vs an independent sample (psych::r.test returns |z|)
rt <- psych::r.test(n = main$n, r12 = main$r, r34 = 0.53, n2 = 200)
rt2 <- psych::r.test(n = main$n, r12 = main$r, r34 = 0.75, n2 = 80)
write_json(list(
  meta = meta, main = main, small = small,
  fixed = list(r0 = 0.53, z = z_fixed, p = 2 * pnorm(-abs(z_fixed))),
  independent = list(r0 = 0.53, n2 = 200, z = rt$z, p = rt$p),
  independent2 = list(r0 = 0.75, n2 = 80, z = rt2$z, p = rt2$p)
), "correlation_reference.json")
