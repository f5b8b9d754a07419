#!/usr/bin/env bash
# Create or update the Cloud Tasks queues of the retry chain and the notifier
# queue. Idempotent: run it again after changing CHAIN or the settings below
# (that is also how a tier is added during an incident, docs/deploy.md).
#
#   PROJECT=my-project LOCATION=us-central1 \
#   CHAIN=incoming:5,incoming-2:5,incoming-3:10 infra/scripts/setup-queues.sh
#
# Environment
#   PROJECT (or GOOGLE_CLOUD_PROJECT)  project id                      required
#   LOCATION                           queue location                  required
#   CHAIN          queue[:maxAttempts][@url],... ("unlimited" allowed)  default incoming
#   MAX_ATTEMPTS   attempts of an entry written without a count         default 7
#   MIN_BACKOFF, MAX_BACKOFF, MAX_DOUBLINGS   first tier's backoff      10s, 300s, 4
#   BACKOFF_FACTOR   each later tier multiplies both backoffs by this   default 3
#   MAX_DISPATCHES_PER_SECOND, MAX_CONCURRENT_DISPATCHES  rate limits   default: untouched
#   NOTIFY_QUEUE   notifier queue; empty = none                         default notifier
#   NOTIFY_MAX_ATTEMPTS, NOTIFY_MIN_BACKOFF, NOTIFY_MAX_BACKOFF, NOTIFY_MAX_DOUBLINGS
#                                                                       10, 5s, 600s, 5
#   DRY_RUN=1      print the gcloud commands instead of running them
#   PULL=1         pull mode (`executor pull`): each tier is a Pub/Sub topic
#                  named like its queue plus its subscription (CHAIN's
#                  #subscription, default <queue>-pull) instead of a queue;
#                  backoffs as above (capped at 600s), a dead-letter topic as
#                  the last backstop (PULL_DEAD_LETTER_TOPIC, default
#                  executor-dead-letter, kept on <topic>-hold), after
#                  PULL_MAX_DELIVERY_ATTEMPTS (default 100) deliveries, and
#                  PULL_RETENTION (default 7d) of unacked messages.
#
# --max-retry-duration=0s on every queue: Cloud Tasks stops retrying only when
# both maxAttempts and maxRetryDuration are reached, so with 0 (unlimited)
# maxAttempts alone decides, which is what the service counts against
# (DESIGN.md section 3). Tier queues get --max-attempts=-1: the executor
# forwards or fails at CHAIN's count, and the queue must not stop first (pushes
# that cannot reach the worker during an outage use up attempts too, and a
# queue that runs out deletes the task unseen). "unlimited" in CHAIN (a tier
# that never forwards) is allowed on the last tier only.
set -euo pipefail

die() {
  echo "setup-queues: $*" >&2
  exit 2
}

PROJECT="${PROJECT:-${GOOGLE_CLOUD_PROJECT:-}}"
LOCATION="${LOCATION:-}"
CHAIN="${CHAIN:-incoming}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-7}"
MIN_BACKOFF="${MIN_BACKOFF:-10s}"
MAX_BACKOFF="${MAX_BACKOFF:-300s}"
MAX_DOUBLINGS="${MAX_DOUBLINGS:-4}"
BACKOFF_FACTOR="${BACKOFF_FACTOR:-3}"
MAX_DISPATCHES_PER_SECOND="${MAX_DISPATCHES_PER_SECOND:-}"
MAX_CONCURRENT_DISPATCHES="${MAX_CONCURRENT_DISPATCHES:-}"
NOTIFY_QUEUE="${NOTIFY_QUEUE-notifier}"
NOTIFY_MAX_ATTEMPTS="${NOTIFY_MAX_ATTEMPTS:-10}"
NOTIFY_MIN_BACKOFF="${NOTIFY_MIN_BACKOFF:-5s}"
NOTIFY_MAX_BACKOFF="${NOTIFY_MAX_BACKOFF:-600s}"
NOTIFY_MAX_DOUBLINGS="${NOTIFY_MAX_DOUBLINGS:-5}"
DRY_RUN="${DRY_RUN:-}"
PULL="${PULL:-}"
PULL_DEAD_LETTER_TOPIC="${PULL_DEAD_LETTER_TOPIC:-executor-dead-letter}"
PULL_MAX_DELIVERY_ATTEMPTS="${PULL_MAX_DELIVERY_ATTEMPTS:-100}"
PULL_RETENTION="${PULL_RETENTION:-7d}"

[[ -n "$PROJECT" ]] || die "PROJECT (or GOOGLE_CLOUD_PROJECT) is not set"
[[ -n "$LOCATION" || -n "$PULL" ]] || die "LOCATION is not set"

# "10s" or "10" -> 10 (whole seconds; Cloud Tasks truncates to seconds anyway).
seconds() {
  local v="${1%s}"
  [[ "$v" =~ ^[0-9]+$ ]] || die "$2: '$1' is not a whole number of seconds such as 10s"
  echo "$v"
}

# maxAttempts of a CHAIN entry: a number >= 1 or unlimited (-1).
attempts() {
  local v="$1" what="$2"
  if [[ "$v" == "unlimited" || "$v" == "-1" ]]; then
    echo -1
  elif [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 1)); then
    echo "$v"
  else
    die "$what: max attempts '$v' is not a number >= 1 or 'unlimited'"
  fi
}

run() {
  if [[ -n "$DRY_RUN" ]]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# create_or_update QUEUE FLAGS...: create when missing, update otherwise.
create_or_update() {
  local queue="$1"
  shift
  local verb=create
  if [[ -z "$DRY_RUN" ]] &&
    gcloud tasks queues describe "$queue" --project="$PROJECT" --location="$LOCATION" >/dev/null 2>&1; then
    verb=update
  fi
  echo "setup-queues: $verb $queue $*" >&2
  run gcloud tasks queues "$verb" "$queue" --project="$PROJECT" --location="$LOCATION" --quiet "$@"
}

min_s=$(seconds "$MIN_BACKOFF" MIN_BACKOFF)
max_s=$(seconds "$MAX_BACKOFF" MAX_BACKOFF)
if ! [[ "$BACKOFF_FACTOR" =~ ^[0-9]+$ ]] || ((BACKOFF_FACTOR < 1)); then
  die "BACKOFF_FACTOR: '$BACKOFF_FACTOR' is not a whole number >= 1"
fi
[[ "$MAX_DOUBLINGS" =~ ^[0-9]+$ ]] || die "MAX_DOUBLINGS: '$MAX_DOUBLINGS' is not a whole number"

rate_flags=()
[[ -z "$MAX_DISPATCHES_PER_SECOND" ]] || rate_flags+=("--max-dispatches-per-second=$MAX_DISPATCHES_PER_SECOND")
[[ -z "$MAX_CONCURRENT_DISPATCHES" ]] || rate_flags+=("--max-concurrent-dispatches=$MAX_CONCURRENT_DISPATCHES")

IFS=',' read -r -a entries <<<"$CHAIN"
((${#entries[@]} > 0)) || die "CHAIN is empty"

# Parse everything first so a bad entry changes nothing.
queues=()
max_attempts=()
subscriptions=()
seen=" "
for i in "${!entries[@]}"; do
  entry="${entries[$i]// /}"
  subscription=""
  if [[ "$entry" == *"#"* ]]; then
    subscription="${entry#*#}"
    subscription="${subscription##*/subscriptions/}"
    entry="${entry%%#*}"
  fi
  entry="${entry%%@*}" # the @url part is the push target, not queue config
  queue="${entry%%:*}"
  if [[ "$entry" == *:* ]]; then
    n=$(attempts "${entry#*:}" "CHAIN entry $((i + 1)) ($queue)")
  else
    n=$(attempts "$MAX_ATTEMPTS" MAX_ATTEMPTS)
  fi
  [[ "$queue" =~ ^[A-Za-z0-9-]{1,100}$ ]] || die "CHAIN entry $((i + 1)): '$queue' is not a queue id ([A-Za-z0-9-]{1,100})"
  [[ "$seen" != *" $queue "* ]] || die "CHAIN: queue '$queue' appears twice"
  if ((n == -1 && i != ${#entries[@]} - 1)); then
    die "CHAIN: '$queue' has unlimited attempts but is not the last tier; it would never forward"
  fi
  seen+="$queue "
  queues+=("$queue")
  max_attempts+=("$n")
  subscriptions+=("${subscription:-$queue-pull}")
  if [[ -n "$PULL" ]] && ((n == -1 || n >= PULL_MAX_DELIVERY_ATTEMPTS)); then
    die "CHAIN: pull tier '$queue' needs max attempts below PULL_MAX_DELIVERY_ATTEMPTS ($PULL_MAX_DELIVERY_ATTEMPTS), or Pub/Sub dead-letters its messages before the executor decides"
  fi
done
if [[ -n "$NOTIFY_QUEUE" && "$seen" == *" $NOTIFY_QUEUE "* ]]; then
  die "NOTIFY_QUEUE '$NOTIFY_QUEUE' is also a tier of CHAIN"
fi

if [[ -n "$PULL" ]]; then
  [[ "$PULL_MAX_DELIVERY_ATTEMPTS" =~ ^[0-9]+$ ]] && ((PULL_MAX_DELIVERY_ATTEMPTS >= 5 && PULL_MAX_DELIVERY_ATTEMPTS <= 100)) ||
    die "PULL_MAX_DELIVERY_ATTEMPTS: '$PULL_MAX_DELIVERY_ATTEMPTS' is not a whole number 5-100"
  # ensure KIND NAME FLAGS...: create a topic or subscription when missing, update it otherwise.
  ensure() {
    local kind="$1" name="$2"
    shift 2
    local verb=create
    if [[ -z "$DRY_RUN" ]] && gcloud pubsub "$kind" describe "$name" --project="$PROJECT" >/dev/null 2>&1; then
      verb=update
    fi
    if [[ "$kind" == topics && "$verb" == update ]]; then
      echo "setup-queues: topic $name exists" >&2
      return
    fi
    if [[ "$verb" == update ]]; then
      # The topic of a subscription cannot be changed: drop --topic on update.
      local args=()
      for a in "$@"; do [[ "$a" == --topic=* ]] || args+=("$a"); done
      set -- ${args[@]+"${args[@]}"}
    fi
    echo "setup-queues: $verb $kind $name $*" >&2
    run gcloud pubsub "$kind" "$verb" "$name" --project="$PROJECT" --quiet "$@"
  }
  ensure topics "$PULL_DEAD_LETTER_TOPIC"
  ensure subscriptions "$PULL_DEAD_LETTER_TOPIC-hold" "--topic=$PULL_DEAD_LETTER_TOPIC" \
    "--message-retention-duration=$PULL_RETENTION" "--expiration-period=never"
  factor=1
  for i in "${!queues[@]}"; do
    lo=$((min_s * factor))
    hi=$((max_s * factor))
    ((lo <= 600)) || lo=600
    ((hi <= 600)) || hi=600
    ensure topics "${queues[$i]}"
    ensure subscriptions "${subscriptions[$i]}" "--topic=${queues[$i]}" \
      "--ack-deadline=60" \
      "--min-retry-delay=${lo}s" \
      "--max-retry-delay=${hi}s" \
      "--dead-letter-topic=$PULL_DEAD_LETTER_TOPIC" \
      "--max-delivery-attempts=$PULL_MAX_DELIVERY_ATTEMPTS" \
      "--message-retention-duration=$PULL_RETENTION" \
      "--expiration-period=never"
    factor=$((factor * BACKOFF_FACTOR))
  done
  echo "setup-queues: the Pub/Sub service agent needs roles/pubsub.publisher on $PULL_DEAD_LETTER_TOPIC and roles/pubsub.subscriber on each subscription (infra/terraform/pull.tf grants them)" >&2
  exit 0
fi

factor=1
for i in "${!queues[@]}"; do
  create_or_update "${queues[$i]}" \
    "--max-attempts=-1" \
    "--max-retry-duration=0s" \
    "--min-backoff=$((min_s * factor))s" \
    "--max-backoff=$((max_s * factor))s" \
    "--max-doublings=$MAX_DOUBLINGS" \
    ${rate_flags[@]+"${rate_flags[@]}"}
  factor=$((factor * BACKOFF_FACTOR))
done

if [[ -n "$NOTIFY_QUEUE" ]]; then
  create_or_update "$NOTIFY_QUEUE" \
    "--max-attempts=$(attempts "$NOTIFY_MAX_ATTEMPTS" NOTIFY_MAX_ATTEMPTS)" \
    "--max-retry-duration=0s" \
    "--min-backoff=$(seconds "$NOTIFY_MIN_BACKOFF" NOTIFY_MIN_BACKOFF)s" \
    "--max-backoff=$(seconds "$NOTIFY_MAX_BACKOFF" NOTIFY_MAX_BACKOFF)s" \
    "--max-doublings=$NOTIFY_MAX_DOUBLINGS"
fi
