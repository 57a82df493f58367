"""One reading of ``--metrics`` for every command that scores codes (evaluate --run, evaluate --encoder,
evaluate-codes, a study's cells): the suite and ``all`` drop what the codes cannot serve and say so in one
line; a named metric the codes cannot serve is refused, never dropped."""

import pytest

from metrics import DEFAULT_METRICS, METRICS, select_metrics, unmet_need


def test_the_suite_and_all_on_codes_that_have_everything():
    assert select_metrics(None) == (DEFAULT_METRICS, "")
    assert select_metrics(" all ") == (tuple(n for n, _ in METRICS.items()), "")


def test_all_drops_what_the_codes_lack_and_names_it_grouped_by_need():
    names, note = select_metrics("all", grid_codes=False)
    lookup = [m for m, spec in METRICS.items() if spec.needs == "factor_lookup"]
    grid = [m for m, spec in METRICS.items() if spec.needs == "full_grid"]
    assert lookup and grid and not set(lookup + grid) & set(names)
    assert note == (f"skipped: {', '.join(lookup)} (need codes for every point of the factor grid); "
                    f"{', '.join(grid)} (need the full grid's posterior, a mean and a log-variance "
                    "for every grid point)")
    names, note = select_metrics("all", grid_posterior=False)
    assert set(lookup) <= set(names) and not set(grid) & set(names) and note.startswith(f"skipped: {', '.join(grid)} (")


def test_the_suite_on_a_partial_grid_keeps_the_sampling_metrics():
    names, note = select_metrics(None, grid_codes=False)
    assert "mig" in names and "beta_vae" not in names and note.startswith("skipped: beta_vae, factor_vae (need codes")


def test_a_named_metric_the_codes_cannot_serve_is_refused_naming_it_and_the_codes():
    assert select_metrics("mig, beta_vae", grid_codes=True) == (("mig", "beta_vae"), "")
    with pytest.raises(ValueError) as e:
        select_metrics("mig,beta_vae,mig_sampled", grid_codes=False, codes="these 40 rows")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("--metrics: beta_vae needs codes for every point") and "mig_sampled needs" in msg
    assert "which these 40 rows lack; leave them out, or pass --metrics all" in msg
    with pytest.raises(ValueError, match="which the encoder's outputs lack; leave it out"):
        select_metrics("elbo_decomposition", grid_posterior=False, codes="the encoder's outputs")


@pytest.mark.parametrize("spec, said", [("migg", "Did you mean: mig"), (" , ", "--metrics is empty")])
def test_unknown_or_empty_names_are_one_line_errors(spec, said):
    with pytest.raises((ValueError, KeyError)) as e:
        select_metrics(spec)
    assert said in str(e.value) and "\n" not in str(e.value)


def test_unmet_need_by_kind():
    assert unmet_need("mig", grid_codes=False, grid_posterior=False) is None
    assert unmet_need("beta_vae", grid_posterior=False) is None and unmet_need("beta_vae", grid_codes=False)
    assert unmet_need("mig_sampled", grid_codes=False) and unmet_need("mig_sampled", grid_posterior=False)
