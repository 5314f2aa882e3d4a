#!/usr/bin/env bash
# Mutation testing (mutmut) of the modules a change touched, each against the tests that cover it.
#
#   scripts/mutation.sh                      every core module changed since main (git diff + uncommitted)
#   scripts/mutation.sh origin/main          ... changed since another base
#   scripts/mutation.sh --module rlviz/present/moments.py [--module ...]
#   scripts/mutation.sh --module rlviz/assess/faithfulness.py --only 'mean_ci,*aopc'   some functions (globs)
#   scripts/mutation.sh --module rlviz/train/ppo.py --tests 'tests/test_train.py::test_gae_with_lambda_one_is_discounted_return_minus_value'
#   scripts/mutation.sh --module rlviz/explain/interactions.py --mutants @survivors.txt   re-run named mutants
#                                            (comma-separated, or @file of names / `mutmut results` lines)
#
# Each module runs in its own copy of the tree (/tmp/rlviz-mutation.XXXX/<module>; your
# worktree is never mutated), one module after another, with a focused test selection
# (TESTS_FOR below; a module not listed gets the test files that import it). mutmut forks a
# fresh worker per mutant and runs only the tests that reach the mutated function.
# Prints killed / survived per module and the surviving mutants; `mutmut show NAME` in the
# printed folder shows one. docs/testing.md lists the measured scores and the equivalent
# mutants. Not for CI: a module takes minutes (moments.py: 417 mutants).
#
# Environment: PYTHON (default: .venv/bin/python, else python3), MUTATION_TIMEOUT seconds per
# module (default 1800), MUTATION_CHILDREN parallel workers (default 1: the machine is shared).
set -euo pipefail

ROOT=$(git rev-parse --show-toplevel)
cd "$ROOT"
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
PYTHON=$(command -v "$PYTHON" || echo "$PYTHON")
case "$PYTHON" in /*) ;; */*) PYTHON="$ROOT/$PYTHON" ;; esac  # absolute: mutmut runs in copies elsewhere
TIMEOUT=${MUTATION_TIMEOUT:-1800}
CHILDREN=${MUTATION_CHILDREN:-1}

# module -> the tests that pin it (space-separated pytest node ids); keep them fast
declare -A TESTS_FOR=(
  [rlviz/explain/perturbation.py]="tests/test_perturbation_saliency.py"
  [rlviz/explain/lrp/rules.py]="tests/test_lrp_rules.py tests/test_lrp_api.py"
  [rlviz/explain/lrp/composites.py]="tests/test_lrp_rules.py tests/test_lrp_api.py"
  [rlviz/explain/lrp/layers.py]="tests/test_lrp_rules.py tests/test_lrp_api.py"
  [rlviz/explain/lrp/canonizers.py]="tests/test_lrp_api.py"
  [rlviz/present/moments.py]="tests/test_moments.py tests/test_episodes.py::test_a_reset_is_not_a_sudden_value_change"
  [rlviz/assess/faithfulness.py]="tests/test_faithfulness.py tests/test_faithfulness_background.py"
  [rlviz/explain/interactions.py]="tests/test_interactions.py tests/test_interactions_synthetic.py"
  [rlviz/train/ppo.py]="tests/test_train.py"
  [rlviz/agents/formats/checkpoint.py]="tests/test_checkpoint_bytes.py tests/test_find_state_dict.py tests/test_no_unpickling.py tests/test_import_by_structure.py"
  [rlviz/agents/formats/sb3.py]="tests/test_formats_sb3_layout.py"  # test_formats_sb3.py saves real SB3 models: ~45 s a mutant
  [rlviz/agents/formats/cleanrl.py]="tests/test_formats_cleanrl.py"
  [rlviz/agents/model_card.py]="tests/test_evaluate.py"
  [rlviz/play/envs.py]="tests/test_envs.py tests/test_sb3_wrappers.py::test_fire_on_reset_resets_again_when_fire_or_action_2_ends_the_episode"
  [rlviz/play/sb3_wrappers.py]="tests/test_sb3_wrappers.py"  # test_sb3_pipeline.py adds the real emulator, ~1.5 s a test
  [rlviz/play/spec.py]="tests/test_env_spec.py tests/test_envs.py::test_short_names_and_full_ids_are_accepted tests/test_envs.py::test_unknown_game_lists_closest_names tests/test_envs.py::test_env_spec_round_trips_and_rejects_unknown_fields"
  [rlviz/assess/paired.py]="tests/test_whatif_stats.py"
  [rlviz/explain/deeplift.py]="tests/test_deeplift_closed_forms.py"
  [rlviz/explain/registry.py]="tests/test_method_registry_specs.py tests/test_methods_reference.py"
  [rlviz/present/report/encode.py]="tests/test_report_encode.py"
  [rlviz/assess/summary.py]="tests/test_summary.py tests/test_summary_read_and_add.py"
  [rlviz/present/assessment_reports.py]="tests/test_assessment_reports_wiring.py tests/test_faithfulness.py tests/test_sanity_checks.py tests/test_safety_outputs.py"
)
# attribution.py: named tests (with the whole of test_lrp_api.py mutmut's first, statistics run fails)
A=tests/test_lrp_api.py
TESTS_FOR[rlviz/explain/lrp/attribution.py]="tests/test_lrp_attribution_paths.py $(printf "$A::%s " \
  test_every_composite_conserves_relevance_layer_by_layer test_lrp0_equals_gradient_times_input \
  test_no_hooks_remain_and_parameters_and_grads_unchanged test_observation_transformed_inside_the_net_keeps_its_relevance \
  test_batchnorm_is_folded_into_the_layer_before test_batchnorm1d_without_a_layer_bias_or_its_own_scale_is_folded_into_the_linear_before \
  test_batchnorm_lrp_cannot_fold_is_refused_with_what_to_do test_works_inside_no_grad_and_inference_mode \
  test_per_frame_targets_and_overrides_are_used test_repeated_calls_do_not_keep_activations_alive \
  test_every_layer_that_reads_the_observation_gets_the_first_layer_rule test_layers_lrp_cannot_explain_are_refused_word_for_word \
  test_requests_lrp_cannot_serve_are_refused_word_for_word test_small_batches_one_target_for_all_and_float32_frames_give_the_same_maps \
  test_contrast_target_is_the_chosen_map_minus_the_mean_map_of_the_other_actions test_an_output_that_ignores_the_observation_gives_a_zero_map \
  test_a_value_head_shaped_n_by_1_explains_the_same_value test_a_network_without_parameters_is_explained_on_the_cpu)\
$(printf "tests/test_lrp_rules.py::%s " test_default_composite_is_zbox_first_gamma_on_convs_epsilon_on_dense \
  test_average_pool_uses_epsilon_normalisation test_max_pool_gives_all_relevance_to_the_winner)\
tests/test_heads_by_role.py::test_lrp_of_a_distributional_net_starts_at_the_atoms_of_the_explained_action"
OBJECT_TESTS="tests/test_object_rules.py tests/test_object_background.py tests/test_objects.py tests/test_whatif_objects.py --deselect tests/test_whatif_objects.py::test_whatif_measures_each_methods_object_shares_on_the_same_observations --deselect tests/test_objects.py::test_cli_objects_writes_the_json_schema_figure_and_boxes"
for m in games segment shares saliency background view_edit; do TESTS_FOR[rlviz/explain/objects/$m.py]=$OBJECT_TESTS; done
TESTS_FOR[rlviz/assess/objects.py]="tests/test_object_report_wiring.py tests/test_object_report.py tests/test_objects.py"
# the core modules a plain run (no --module) looks at, in order of importance
CORE=(rlviz/explain/perturbation.py rlviz/explain/lrp/rules.py rlviz/explain/lrp/composites.py
      rlviz/present/moments.py rlviz/assess/faithfulness.py rlviz/explain/interactions.py rlviz/train/ppo.py
      rlviz/agents/formats/sb3.py rlviz/agents/formats/cleanrl.py rlviz/play/envs.py rlviz/play/sb3_wrappers.py
      rlviz/explain/lrp/layers.py rlviz/explain/lrp/attribution.py rlviz/agents/model_card.py
      'rlviz/explain/objects/*.py' rlviz/assess/objects.py rlviz/assess/whatif.py rlviz/assess/paired.py
      rlviz/present/assessment_reports.py rlviz/play/spec.py rlviz/agents/formats/checkpoint.py
      rlviz/explain/deeplift.py rlviz/explain/registry.py rlviz/present/report/encode.py rlviz/assess/summary.py)  # globs allowed

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2; }

modules=() only="" mutants="" tests_override="" base=main
while [ $# -gt 0 ]; do
  case $1 in
    --module) modules+=("$2"); shift 2 ;;
    --only) only=$2; shift 2 ;;
    --mutants) mutants=$2; shift 2 ;;
    --tests) tests_override=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "mutation.sh: unknown option $1" >&2; usage ;;
    *) base=$1; shift ;;
  esac
done

"$PYTHON" -c "import mutmut" 2>/dev/null || {
  echo "mutation.sh: mutmut is not installed for $PYTHON; pip install -e '.[mutation]'" >&2; exit 2; }

if [ ${#modules[@]} -eq 0 ]; then
  git rev-parse --verify -q "$base" >/dev/null || { echo "mutation.sh: no git ref '$base'; pass a base branch or --module" >&2; exit 2; }
  changed=$( { git diff --name-only --diff-filter=d "$(git merge-base "$base" HEAD)" -- 'rlviz/*.py'; git ls-files -o --exclude-standard -- 'rlviz/*.py'; } | sort -u)
  others=()
  for f in $changed; do
    core=0
    for m in "${CORE[@]}"; do [[ $f == $m ]] && core=1; done  # $m unquoted: a glob
    if [ $core = 1 ]; then modules+=("$f"); else others+=("$f"); fi
  done
  [ ${#others[@]} -gt 0 ] && echo "changed, not core (run them with --module if they matter): ${others[*]}"
  [ ${#modules[@]} -eq 0 ] && { echo "no core module changed since $base"; exit 0; }
fi

tests_for() {  # the listed tests, else every test file that imports the module
  local m=$1 dotted=${1%.py}
  dotted=${dotted//\//.}
  if [ -n "${TESTS_FOR[$m]:-}" ]; then echo "${TESTS_FOR[$m]}"; return; fi
  local parent=${dotted%.*} name=${dotted##*.}
  grep -lE "(from|import) ${dotted//./\\.}( |$)|from ${parent//./\\.} import .*\b${name}\b" tests/test_*.py | tr '\n' ' '
}

work=$(mktemp -d /tmp/rlviz-mutation.XXXX)
echo "mutation testing ${modules[*]} (copies in $work)"
for m in "${modules[@]}"; do
  [ -f "$m" ] || { echo "mutation.sh: no module $m" >&2; exit 2; }
  tests=${tests_override:-$(tests_for "$m")}
  [ -n "$tests" ] || { echo "$m: no test imports it; nothing to run"; continue; }
  dir=$work/$(basename "${m%.py}")
  mkdir -p "$dir"
  git ls-files -co --exclude-standard | grep -v '^videos/' | tar -cf - -T - | tar -xf - -C "$dir"
  toml_list() { printf '"%s", ' "$@" | sed 's/, $//'; }
  # shellcheck disable=SC2086
  cat >>"$dir/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["rlviz"]
also_copy = ["agents", "scripts", "docs"]
only_mutate = ["$m"]
pytest_add_cli_args_test_selection = [$(toml_list $tests)]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]
process_isolation = "forkserver"  # torch is not fork-safe once the stats run has used it
EOF
  names=()
  if [ -n "$only" ]; then  # mutmut names a mutant <module>.x_<function>__mutmut_<n> (methods: xǁClassǁmethod)
    dotted=${m%.py}; dotted=${dotted//\//.}
    IFS=, read -ra globs <<<"$only"
    for g in "${globs[@]}"; do names+=("$dotted.x_${g}__mutmut_*" "$dotted.xǁ*ǁ${g}__mutmut_*"); done
  fi
  if [ -n "$mutants" ]; then  # names from an earlier run: the same source gives the same names
    if [[ $mutants == @* ]]; then
      mapfile -t listed < <(sed -E 's/^[[:space:]]*//; s/:.*$//' "${mutants#@}" | grep -v '^$')
    else
      IFS=, read -ra listed <<<"$mutants"
    fi
    names+=("${listed[@]}")
  fi
  echo "== $m  (tests: $tests)"
  start=$(date +%s)
  ( cd "$dir" && timeout "$TIMEOUT" "$PYTHON" -m mutmut run --max-children "$CHILDREN" "${names[@]}" >mutmut.log 2>&1 ) \
    || echo "$m: mutmut stopped (exit $?; timeout ${TIMEOUT}s?) - the counts below are what finished"
  wall=$(( $(date +%s) - start ))
  ( cd "$dir" && "$PYTHON" -m mutmut export-cicd-stats >/dev/null 2>&1 || true
    "$PYTHON" - "$m" "$wall" <<'PY'
import json, subprocess, sys
from pathlib import Path
module, wall = sys.argv[1], sys.argv[2]
stats = Path("mutants/mutmut-cicd-stats.json")
if not stats.exists():
    print(f"{module}: no results (see {Path('mutmut.log').resolve()})"); sys.exit()
s = json.loads(stats.read_text())
done = s["killed"] + s["survived"] + s.get("timeout", 0) + s.get("suspicious", 0)
score = 100 * (s["killed"] + s.get("timeout", 0)) / max(done, 1)
print(f"{module}: {s['killed']} killed, {s.get('timeout', 0)} timeout, {s['survived']} survived, "
      f"{s.get('no_tests', 0)} not reached by the tests, {s.get('skipped', 0)} skipped, of {s['total']}: "
      f"score {score:.1f}% before excluding equivalent mutants; {wall} s")
out = subprocess.run([sys.executable, "-m", "mutmut", "results"], capture_output=True, text=True).stdout
survivors = [line.strip() for line in out.splitlines() if line.strip().endswith((": survived", ": no tests", ": suspicious"))]
if survivors:
    print("  not killed (`mutmut show NAME` in " + str(Path.cwd()) + "):")
    print("\n".join("    " + line for line in survivors))
PY
  )
done
