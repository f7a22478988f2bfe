# Reference numbers for tests/analysis (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, nlme 3.1-162,
# Debian bookworm). Run from this directory with `Rscript reference.R`; the tests do not need R.
suppressMessages({library(lmerTest); library(nlme)})
options(digits = 10, width = 150)

# lme4's sleepstudy (exported with write.csv(lme4::sleepstudy, row.names = FALSE))
s <- read.csv("sleepstudy.csv")
m <- lmer(Reaction ~ Days + (1 | Subject), s); print(summary(m)); print(as.data.frame(VarCorr(m)))

prep <- function(file, measure, tps, ref = NULL) {
  d <- read.csv(file); d <- d[d$measure == measure & !is.na(d$score), ]
  d$time <- factor(d$timepoint, levels = tps); d$arm <- factor(d$arm)
  if (!is.null(ref)) d$arm <- relevel(d$arm, ref)
  d$t <- as.integer(d$time); d
}
lmm <- function(d, f = score ~ time * arm + (1 | participant_id)) {
  m <- lmer(f, d); print(coef(summary(m))); print(as.data.frame(VarCorr(m))[, c("grp", "vcov")])
  print(confint(m, method = "Wald", parm = "beta_")); invisible(m)
}
us <- function(d, f = score ~ time * arm) {
  g <- gls(f, d, correlation = corSymm(form = ~ t | participant_id),
           weights = varIdent(form = ~ 1 | time), method = "REML")
  print(summary(g)$tTable); print(getVarCov(g)); print(logLik(g)); invisible(g)
}

lmm(prep("cft_scores.csv", "BDI-II", c("pre", "post")))
lmm(prep("cft_scores.csv", "BDI-II", c("pre", "post"), "UC"))
d <- merge(prep("cft_scores.csv", "SCS-SF", c("pre", "post")),
           read.csv("cft_participants.csv")[, c("participant_id", "gender")])
lmm(d, score ~ time * arm + gender + (1 | participant_id))
d3 <- prep("cft3_scores.csv", "BDI-II", c("pre", "post", "follow"))
lmm(d3)
lmm(merge(d3, read.csv("cft3_participants.csv")[, c("participant_id", "age")]),
    score ~ time * arm + age + (1 | participant_id))
lmm(prep("table3_scores.csv", "BDI-II", c("pre", "post")))
m <- lmer(score ~ time * arm + (1 | participant_id), prep("flat_reml.csv", "m", c("pre", "post")),
          control = lmerControl(optCtrl = list(ftol_abs = 1e-15, xtol_abs = 1e-15,
                                               ftol_rel = 1e-15, xtol_rel = 1e-15)))
print(coef(summary(m))); print(as.data.frame(VarCorr(m))$vcov)

us(prep("cft_scores.csv", "BDI-II", c("pre", "post")))
us(d3)
cft <- merge(d3[d3$arm == "CFT", ], read.csv("cft3_participants.csv")[, c("participant_id", "gender")])
us(cft[order(cft$participant_id, cft$t), ], score ~ time + gender)

# Completers vs non-completers (odds of NOT completing, one model per characteristic with
# treatment contrasts against the first level), msc_*.csv and completers_participants.csv
p <- read.csv("msc_participants.csv"); b <- subset(read.csv("msc_scores.csv"), timepoint == "baseline")
p <- merge(p, data.frame(participant_id = b$participant_id, dep = b$score))
p$noncompleted <- as.integer(p$status != "completed"); p$completed <- 1L - p$noncompleted
for (f in c("noncompleted ~ factor(gender)", "noncompleted ~ age", "noncompleted ~ dep")) {
  g <- glm(as.formula(f), binomial, p)
  print(exp(cbind(OR = coef(g), confint.default(g)))); print(summary(g)$coefficients)
}
print(fisher.test(table(p$gender, p$completed))$p.value)
print(t.test(age ~ completed, p)$p.value)
p <- read.csv("completers_participants.csv"); p$noncompleted <- as.integer(p$status != "completed")
for (f in c("noncompleted ~ factor(site)", "noncompleted ~ factor(gender)")) {
  g <- glm(as.formula(f), binomial, p)
  print(exp(cbind(OR = coef(g), confint.default(g)))); print(summary(g)$coefficients)
}
# the old, wrong comparison of one level against all others pooled
print(summary(glm(noncompleted ~ I(site == "Osaka"), binomial, p))$coefficients)
