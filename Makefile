# Ooievaar: the two front-door commands. See README.md.
#   make run   set up what is missing, build (release), seed the demo on a new database, serve on :3000
#   make test  set up what is missing (incl. test tools) and run every check and test suite
.PHONY: run test setup fmt

run:
	@scripts/run.sh

test:
	@scripts/test.sh

setup:
	@scripts/setup.sh

fmt:
	cargo fmt --all
