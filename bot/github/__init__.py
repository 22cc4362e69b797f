"""GitHub: the only package that talks to GitHub, through PyGithub."""
