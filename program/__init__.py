"""Program delivery: course content (``catalogue``) and each cohort's release calendar
(``schedule``). Both are pure: no database, no Flask."""
