# Switchboard — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help run run-sim sim test test-rust browser-deps clients-check chart-check smoke lint fmt build migrate bench bench-soak bench-presence bench-search bench-gateway bench-reports demo cluster clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

run: ## Run all seven services in one process on SQLite in ./data; seeds a demo organization once, prints a dev token and how to call the gateway
	$(CARGO) run -p switchboard -- serve --target all --demo

demo: ## As make run, plus the Graph API simulator, an agent kept available and a scripted customer writing every 15 s
	scripts/demo.sh

cluster: ## The chart's distributed topology as local processes on PostgreSQL + Redis: 2 routing, 2 channel, gateway, presence, ticketing, reporting, integrations; Ctrl-C stops them
	$(CARGO) build -p switchboard
	scripts/cluster.sh

sim: ## The Graph API simulator on 127.0.0.1:8089 (dev only), webhooks to make run-sim's 8080
	$(CARGO) run -p switchboard-graph-sim -- --port 8089 --app-secret dev-app-secret \
		--webhook-url http://127.0.0.1:8080/webhooks/whatsapp --account 106540352242922:dev-token:102290129340398

run-sim: ## As make run, sending through the simulator of make sim instead of Meta
	SWITCHBOARD__CHANNEL__WHATSAPP__GRAPH_BASE_URL=http://127.0.0.1:8089 \
	SWITCHBOARD__CHANNEL__WHATSAPP__APP_SECRET=dev-app-secret \
	SWITCHBOARD__CHANNEL__WHATSAPP__VERIFY_TOKEN=dev-verify-token \
	SWITCHBOARD_SECRET_DEV_TOKEN=dev-token \
	$(CARGO) run -p switchboard -- serve --target all --demo

test: test-rust clients-check chart-check smoke ## Run every test (starts throwaway PostgreSQL/Redis when none answer)

test-rust: browser-deps ## The Rust unit and integration tests against SQLite and PostgreSQL + Redis
	scripts/with-test-services.sh $(CARGO) test --workspace --no-fail-fast

browser-deps: ## What the browser test needs: Debian's chromium, npm ci, the TypeScript client and test page built (fast when done)
	scripts/browser-deps.sh

clients-check: browser-deps ## clients/typescript/src/gen matches proto/ (regenerated with buf) and the test page type-checks
	cd clients/typescript && npm run --silent check-generated
	cd tests/browser && npm run --silent typecheck

chart-check: ## Helm chart and k8s/ manifests: helm lint/template, kustomize, kubernetes-validate --strict (1.30, 1.35), tests/chart (offline once tools are cached)
	scripts/chart-check.sh

smoke: ## An independent Python gRPC client checks health, reflection and Ctrl-C of `serve --target all`
	$(CARGO) build -p switchboard
	scripts/smoke.sh

lint: ## Format check and clippy with warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

build: ## Build the release binary (target/release/switchboard)
	$(CARGO) build --release -p switchboard

migrate: ## Apply every service's migrations to the configured database
	$(CARGO) run -p switchboard -- migrate --target all

bench: ## Load benchmark, ~2 min: baselines, saturation, 60 s realistic profile on PostgreSQL + Redis; ratio lines last
	$(CARGO) build --release -p switchboard-loadgen
	scripts/with-test-services.sh target/release/switchboard-loadgen --suite cluster $(BENCH_ARGS)

bench-soak: ## The 10-minute saturation run behind the decay target (see docs/performance.md)
	$(CARGO) build --release -p switchboard-loadgen
	scripts/with-test-services.sh target/release/switchboard-loadgen --suite cluster --saturation-secs 600 --duration 0 --out target/bench/soak $(BENCH_ARGS)

bench-presence: ## Presence reserve+release through gRPC vs raw Redis EVAL, as ratios (PostgreSQL/Redis as for tests)
	scripts/with-test-services.sh $(CARGO) bench -p switchboard-tests --bench presence_reserve

bench-search: ## Ticket search p99 over 100,000 tickets through gRPC vs a raw GIN tsvector query, as ratios (BENCH_TICKETS=…)
	scripts/with-test-services.sh $(CARGO) bench -p switchboard-tests --bench ticket_search

bench-reports: ## GetReport p50/p99 over 1,000,000 conversations' facts through gRPC vs a raw aggregate SQL query, as ratios (BENCH_CONVERSATIONS=…)
	scripts/with-test-services.sh $(CARGO) bench -p switchboard-tests --bench report_query

bench-gateway: ## The same RPC through the gateway and directly to routing (latency and throughput), as ratios
	scripts/with-test-services.sh $(CARGO) bench -p switchboard-tests --bench gateway_overhead

clean: ## Remove build output and the local ./data
	$(CARGO) clean
	rm -rf data
