/** The `--help` texts of `npm run plan`, `deploy` and `destroy`. */

export const USAGE = `Usage: npm run plan [-- options]

Synthesizes, then runs plain \`terraform plan\` for every stack of the selected environments
(ENVIRONMENTS, default local) on cdktf.out, keeps each plan and its JSON, and writes a Markdown
review per stack and overall (plans/summary.md, summary.json). Exits 1 when a plan deletes or
replaces an ECR repository or IAM role that --allow-destroy does not name, or creates every
resource of a stack whose last apply left resources in its state (state-empty: a moved
state.keyPrefix or bucket, a lost state) that --allow-empty-state does not name. Refuses, before
anything runs, a real environment (not "local": true) while AWS_ENDPOINT_URL or any
AWS_ENDPOINT_URL_<SERVICE> is set, unless --allow-local-endpoint is given.

  --allow-destroy STACK:ADDRESS[,…]  resources allowed to be deleted or replaced (repeatable),
                                     e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD
  --out DIR                          where plans and reviews go (default: plans)
  --baseline DIR                     a previous synth output (e.g. of main) to compare backends with
                                     (default: the backend of the stack's last apply, in its state
                                     record beside its state: <state key>.record.json)
  --allow-empty-state STACK[,…]      stacks that may plan to create everything on an empty state
                                     although their last apply left resources (repeatable)
  --apply                            after a review that passes, apply exactly the reviewed plans
  --parallelism N                    at most N stacks run terraform at once (1 to 64; default from
                                     the machine: min(cores, available memory / 700 MiB))
  --stack NAME[,…]                   only these stacks of the selected environments (repeatable);
                                     the summary covers only them
  --allow-local-endpoint             plan real environments against the endpoint these variables
                                     set, on purpose (e.g. a rehearsal on a local AWS); the review
                                     says so at its top
  --help                             this text
Environment: ALLOW_DESTROY (same as --allow-destroy, comma or space separated),
ALLOW_EMPTY_STATE (same as --allow-empty-state), ALLOW_LOCAL_ENDPOINT (1: same as
--allow-local-endpoint), PARALLELISM (same as --parallelism), SHARE_PROVIDER (0: terraform
starts the AWS provider for each command; default 1: one provider process serves a stack's plan
and show, another its apply), TRIM_SCHEMA (0: terraform reads the provider's whole schema;
default 1: only the schemas of the types the stack names), ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL, LOCAL_AWS_STATE_DIR.

Local environments run against AWS_ENDPOINT_URL, else the local AWS kept running by
\`npm start -- --keep-running\` (\`npm run status\`); with neither, the run stops at once saying so.
Real ones use the default AWS credentials. Every plan and apply waits up to LOCK_TIMEOUT (default 5m, a Terraform
duration such as 30s or 1h) for a state lock held by another run, and each stack prints its phase
and a line every 10 s with the time elapsed, and a line when it starts and ends
([3/5] local-eu-central-1: planned (12.3 s)). A failed plan does not stop the others: every stack
is planned, then the run fails naming each failed stack (no summary). Besides <stack>.md, each
stack's review is written as <stack>.review.json (the StackReview object), and beside each saved
plan <stack>.tfplan its binding <stack>.binding.json: { stack, commit (GITHUB_SHA, else git HEAD,
else null), digest (sha256 of the stack's cdk.tf.json without cdktf's comments, keys sorted),
lineage and serial of the state the plan started from (null: no state yet) }, which
npm run deploy -- --plans checks before applying.
With GITHUB_STEP_SUMMARY set, summary.md is appended to that file too; with GITHUB_ACTIONS=true
the advice names deploy-allowances.json, and GITHUB_SERVER_URL/GITHUB_REPOSITORY/GITHUB_RUN_ID
put the run's link in the summary.`;

export const DEPLOY_USAGE = `Usage: npm run deploy [-- options]
       npm run deploy -- --plans DIR [--stack NAME ...] [--check-only]

The review of \`npm run plan\`, then, when it passes, applies exactly the reviewed plans (consumers
before the owner they pull from) and prints each stack's outputs. Exits 1 without applying
anything when a plan deletes or replaces an ECR repository or IAM role that --allow-destroy does
not name, or recreates a stack on an empty state (state-empty) that --allow-empty-state does not
name. Each apply is recorded beside its state (<state key>.record.json in the state bucket:
backend, outputs, resources, commit, digest: what the next
review compares with). Refuses, before anything runs, a real environment (not "local": true)
while AWS_ENDPOINT_URL or any AWS_ENDPOINT_URL_<SERVICE> is set, unless --allow-local-endpoint is
given.

  --allow-destroy STACK:ADDRESS[,…]  resources allowed to be deleted or replaced (repeatable)
  --out DIR                          where plans and reviews go (default: plans)
  --baseline DIR                     a previous synth output to compare backends with
  --allow-empty-state STACK[,…]      stacks that may be created again on an empty state
                                     (repeatable)
  --allow-local-endpoint             deploy real environments to the endpoint these variables set,
                                     on purpose; the review says so at its top
  --parallelism N                    at most N stacks plan or apply at once (1 to 64; default from
                                     the machine: min(cores, available memory / 700 MiB))
  --stack NAME[,…]                   only these stacks of the selected environments (repeatable)
  --plans DIR                        plan nothing: apply the saved plans of DIR (the --out DIR of
                                     npm run plan or of merge-reviews, e.g. the CI plans
                                     artifact). Before any apply, in any account: DIR/summary.json's
                                     decision must be ok (the guard is run again with the allowances
                                     it recorded: the flags of the plan, or deploy-allowances.json
                                     of the merge), and every selected stack (--stack, default every
                                     stack summary.json reviews) must have its .tfplan and
                                     .binding.json, planned at this checkout's commit from the same
                                     synthesized Terraform, its state's lineage and serial unchanged
                                     since (terraform state pull). Any mismatch: one line per stack,
                                     exit 1, nothing applied. Takes no --allow-*, --baseline, --out.
  --check-only                       with --plans: make every check, apply nothing (exit 0 when
                                     all pass)
  --help                             this text
Environment: ALLOW_DESTROY, ALLOW_EMPTY_STATE, ALLOW_LOCAL_ENDPOINT, PARALLELISM, SHARE_PROVIDER, TRIM_SCHEMA, ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL, LOCK_TIMEOUT (how long plan and apply wait for a state lock,
default 5m), GITHUB_SHA (the commit the records name), LOCAL_AWS_STATE_DIR.

Local environments deploy to AWS_ENDPOINT_URL, else the local AWS kept running by
\`npm start -- --keep-running\` (\`npm run status\`); with neither, the run stops at once saying so.
Real ones use the default AWS credentials. A call the local endpoint does not support (it answers
HTTP 500, e.g. an update of a deployed CodeBuild project) fails at once, saying so.

Stacks apply wave by wave (a wave starts when every stack of the one before applied), at most
--parallelism at once within a wave. A failed apply starts no further stack (the running ones
finish), and the error names the stacks that applied and those that did not.`;

export const DESTROY_USAGE = `Usage: npm run destroy [-- options]

Plans the destruction of every stack of the selected environments (ENVIRONMENTS, default every
local one), writes the review (plans/destroy/summary.md, one review per stack) and prints what will
be destroyed, then destroys exactly the reviewed plans, owners before the consumers that pull from
them. The state buckets and lock tables stay.

  --confirm ENV[,ENV…]     required to destroy a real environment (not "local": true): name every
                           real environment selected. Without it, on a terminal, you are asked to
                           type the names; otherwise the review is printed and nothing is destroyed
                           (exit 1). Local environments need no confirmation.
  --plan-only              print the review, destroy nothing
  --out DIR                where plans and reviews go (default: plans/destroy)
  --allow-local-endpoint   destroy real environments at the endpoint AWS_ENDPOINT_URL(_<SERVICE>)
                           sets, on purpose; refused without it, before anything runs
  --parallelism N          at most N stacks plan or destroy at once (1 to 64; default from the
                           machine: min(cores, available memory / 700 MiB)); owners' wave first
  --stack NAME[,…]         only these stacks of the selected environments (repeatable)
  --orphan STACK           instead: an orphaned stack (npm run -s stacks -- --orphans), planned
                           from its state record; npm run destroy -- --orphan STACK --help
  --help                   this text
Environment: CONFIRM_DESTROY (same as --confirm), ALLOW_LOCAL_ENDPOINT, PARALLELISM, SHARE_PROVIDER, ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL, LOCK_TIMEOUT (default 5m), LOCAL_AWS_STATE_DIR.

Local environments are destroyed where they were deployed: AWS_ENDPOINT_URL, else the local AWS
kept running by \`npm start -- --keep-running\` (\`npm run status\`); with neither there is
nothing to destroy, and the command says so. (A local AWS may keep resources its API does not
delete by ARN, e.g. CodeBuild projects, until it is stopped.)`;

/** The usage text of the command the arguments come from: plan, deploy (`--apply`) or destroy (`--destroy` first). */
export function usageFor(argv: readonly string[]): string {
  if (argv[0] === "--destroy") return DESTROY_USAGE;
  return argv.includes("--apply") ? DEPLOY_USAGE : USAGE;
}
