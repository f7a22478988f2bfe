# Reference numbers for tests/analysis/test_clustered.py: clustered designs, Kenward-Roger,
# type III tests, per-timepoint contrasts, ANCOVA and per-protocol (R 4.2.2, lme4 1.1-31,
# lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4-1, Debian bookworm). The data sets are written
# by make_clustered.py. Run from this directory with `Rscript reference_clustered.R`; the
# tests do not need R.
suppressMessages({library(lmerTest); library(emmeans)})
options(digits = 10, width = 200)

# one measure's rows with the participants' columns; grouped_post = 1 on the post-baseline
# rows of participants treated in a therapy group; people in no group share one placeholder
# level ("none"); two timepoints: time numeric 0/1, three or more: a factor
prep <- function(name, tps) {
  d <- merge(read.csv(paste0(name, "_scores.csv")), read.csv(paste0(name, "_participants.csv"))[, -2])
  d <- d[!is.na(d$score), ]
  d$grouped_post <- as.integer(d$therapy_group != "" & d$timepoint != tps[1])
  d$therapy_group[d$therapy_group == ""] <- "none"
  d$time <- if (length(tps) == 2) as.integer(d$timepoint == tps[2]) else factor(d$timepoint, levels = tps)
  d$arm <- factor(d$arm); d
}
# every number the tests compare: criterion, variances, Satterthwaite and Kenward-Roger
# coefficient tables, type III anova() with both methods, emmeans contrasts with both methods
show <- function(m, at = NULL) {
  cat("REMLcrit", REMLcrit(m), "isSingular", isSingular(m), "\n")
  print(getME(m, "theta"))
  print(as.data.frame(VarCorr(m))[, c("grp", "vcov")])
  print(coef(summary(m))); print(coef(summary(m, ddf = "Kenward-Roger")))
  print(anova(m)); print(anova(m, ddf = "Kenward-Roger"))
  for (df in c("satterthwaite", "kenward-roger")) {
    e <- emmeans(m, ~ arm | time, at = at, lmer.df = df)
    print(as.data.frame(summary(contrast(e, "trt.vs.ctrl", ref = 1, adjust = "none"), infer = TRUE)))
  }
  invisible(m)
}

cat("== groups: partially nested therapy groups with a real group effect\n")
d <- prep("groups", c("pre", "post"))
m <- show(lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post | therapy_group), d),
          list(time = c(0, 1)))
cf <- coef(summary(m))["time:armUC", ]
print(cf[["Estimate"]] + c(-1, 1) * qt(0.975, cf[["df"]]) * cf[["Std. Error"]])
cat("== groups, ignoring the therapy groups\n")
show(lmer(score ~ time * arm + (1 | participant_id), d), list(time = c(0, 1)))
cat("== groups: site random intercept and therapy groups\n")
# Three sites leave the REML criterion flat in the site variance: with its default tolerances
# lme4 stops 3e-8 above the optimum (site variance 2.66041, REMLcrit 1081.60829469732); with
# tight tolerances it reaches 2.66084 (REMLcrit 1081.60829466566), the optimum Hearth finds.
tight <- lmerControl(optCtrl = list(ftol_abs = 1e-15, xtol_abs = 1e-15, ftol_rel = 1e-15,
                                    xtol_rel = 1e-15))
f <- score ~ time * arm + (1 | site) + (1 | participant_id) + (0 + grouped_post | therapy_group)
print(REMLcrit(lmer(f, d)), digits = 15)
m <- show(lmer(f, d, control = tight), list(time = c(0, 1)))
print(REMLcrit(m), digits = 15)

cat("== sites3: three timepoints (time a factor), four sites, therapy groups\n")
d3 <- prep("sites3", c("pre", "post", "follow"))
show(lmer(score ~ time * arm + (1 | site) + (1 | participant_id) + (0 + grouped_post | therapy_group), d3))
cat("== sites3: site only, with a covariate\n")
show(lmer(score ~ time * arm + gender + (1 | site) + (1 | participant_id), d3))

cat("== singular: therapy groups without any group effect\n")
ds <- prep("singular", c("pre", "post"))
show(lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post | therapy_group), ds),
     list(time = c(0, 1)))

cat("== ANCOVA per later timepoint, groups and sites3\n")
wide <- function(d, tps) {
  w <- reshape(d[, c("participant_id", "arm", "gender", "timepoint", "score")],
               idvar = c("participant_id", "arm", "gender"), timevar = "timepoint", direction = "wide")
  names(w) <- sub("score.", "", names(w)); w
}
w <- wide(d, c("pre", "post"))
a <- lm(post ~ pre + arm, w); print(coef(summary(a))); print(confint(a)); print(nobs(a))
w3 <- wide(d3, c("pre", "post", "follow"))
for (tp in c("post", "follow")) {
  a <- lm(as.formula(paste(tp, "~ pre + arm + gender")), w3)
  print(coef(summary(a))); print(confint(a)); print(nobs(a))
}

cat("== per protocol: CFT participants with sessions_attended >= 8, UC whole\n")
p <- read.csv("groups_participants.csv")
keep <- p$participant_id[p$arm == "UC" | (!is.na(p$sessions_attended) & p$sessions_attended >= 8)]
cat("excluded", length(setdiff(unique(d$participant_id), keep)), "\n")
show(lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post | therapy_group),
          d[d$participant_id %in% keep, ]), list(time = c(0, 1)))

cat("== cft: the papers' random-intercept model, both df methods (tests and contrasts too)\n")
dc <- subset(read.csv("cft_scores.csv"), measure == "BDI-II" & !is.na(score))
dc$time <- as.integer(dc$timepoint == "post"); dc$arm <- factor(dc$arm)
show(lmer(score ~ time * arm + (1 | participant_id), dc), list(time = c(0, 1)))
