"""How long the suite's slowest tests take (setup + call + teardown, seconds, four xdist
processes on an idle 2-core machine, 2026-12-03), so that `--dist loadgroup` hands them out first and the
run does not end waiting for one of them (tests/conftest.py, pytest_xdist_make_scheduler).

Only the order depends on these figures: a test missing here, or a figure out of date, is
still run, just not first. Refresh them from `make test PYTEST_ARGS="--durations=120"`
(sum each test's phases; list those over about 6 s).
"""

# ruff: noqa: E501  (a table of node ids, one a line)

from __future__ import annotations

SECONDS: dict[str, float] = {
    "tests/e2e/test_demo.py::test_demo_runs_twice_without_duplicates_and_stops_cleanly": 107,
    "tests/integration/test_batch.py::test_an_interrupted_batch_resumes_and_stores_every_scan_once": 102,
    "tests/integration/test_batch.py::test_redis_restarted_empty_mid_batch_loses_no_scan": 72,
    "tests/integration/test_backbone.py::test_the_sample_collection_is_stored_and_verified_per_object": 44,
    "tests/integration/test_batch.py::test_messages_lost_by_the_broker_are_found_and_sent_again": 43,
    "tests/e2e/test_web_browser.py::test_search_without_diacritics_then_zoom_into_the_object": 39,
    "tests/integration/test_backbone.py::test_many_views_of_one_artefact_at_once_are_all_listed": 35,
    "tests/integration/test_security.py::test_secrets_appear_in_no_log_record_report_reason_or_message": 33,
    "tests/integration/test_storage_outage.py::test_an_outage_fails_the_file_softly_and_a_rerun_stores_it": 30,
    "tests/integration/test_process_faults.py::test_the_whole_worker_killed_mid_multipart_upload_finishes_after_a_restart": 27,
    "tests/integration/test_process_faults.py::test_a_crash_between_the_derivatives_and_the_record_leaves_no_record_until_completed": 27,
    "tests/integration/test_live_index.py::test_a_running_api_finds_new_records_live_and_missed_ones_after_a_catch_up": 26,
    "tests/integration/test_process_faults.py::test_sigterm_during_a_long_task_then_sigkill_loses_nothing_and_duplicates_nothing[killed-after-grace]": 25,
    "tests/integration/test_watch.py::test_a_file_that_failed_stays_and_is_retried": 22,
    "tests/integration/test_finish_batches.py::test_a_batch_whose_queue_was_emptied_is_completed_by_the_task": 20,
    "tests/integration/test_worker_lost.py::test_a_file_that_keeps_killing_its_worker_is_quarantined_as_worker_lost": 20,
    "tests/integration/test_backbone.py::test_a_16_bit_tiff_master_keeps_its_bits": 18,
    "tests/integration/test_process_faults.py::test_sigterm_during_a_long_task_then_sigkill_loses_nothing_and_duplicates_nothing[finishes-within-grace]": 17,
    "tests/integration/test_process_faults.py::test_a_task_delivered_twice_at_once_stores_once": 16,
    "tests/integration/test_containment.py::test_a_child_stuck_past_the_hard_time_limit_is_killed_and_its_file_quarantined": 16,
    "tests/integration/test_backbone.py::test_the_same_bytes_under_two_names_are_one_scan": 15,
    "tests/integration/test_finish_batches.py::test_the_fixity_sample_writes_its_report_with_the_damaged_master": 14,
    "tests/integration/test_finish_batches.py::test_a_detached_batch_is_reported_and_finished_once_by_the_task": 14,
    "tests/integration/test_watch.py::test_a_restart_finishes_what_was_pending[poll]": 13,
    "tests/integration/test_s3_faults.py::test_slow_down_and_internal_errors_are_retried_then_stored": 13,
    "tests/integration/test_backbone.py::test_bad_files_are_quarantined_with_code_and_remedy": 13,
    "tests/integration/test_s3_faults.py::test_a_soft_time_limit_while_storing_is_retried_not_quarantined": 13,
    "tests/integration/test_watch.py::test_a_restart_finishes_what_was_pending[inotify]": 13,
    "tests/integration/test_s3_faults.py::test_wrong_credentials_stop_an_ingest_before_anything_is_queued": 13,
    "tests/integration/test_export.py::test_a_bag_of_an_artefact_validates_and_a_tampered_one_does_not": 13,
    "tests/integration/test_watch.py::test_complete_files_are_taken_once_and_cleared_out[poll]": 12,
    "tests/integration/test_process_faults.py::test_a_worker_child_killed_mid_scan_is_redelivered_and_stored_once": 11,
    "tests/integration/test_backbone.py::test_views_become_one_verified_record": 11,
    "tests/integration/test_bad_inputs_worker.py::test_every_bad_file_is_quarantined_and_every_sound_one_stored": 11,
    "tests/integration/test_s3_faults.py::test_a_byte_flipped_in_a_tile_is_refused_and_sent_again": 11,
    "tests/integration/test_containment.py::test_a_decode_beyond_the_memory_ceiling_is_quarantined_and_the_pool_lives": 10,
    "tests/integration/test_watch.py::test_complete_files_are_taken_once_and_cleared_out[inotify]": 10,
    "tests/integration/test_status_metrics.py::test_metrics_and_status_after_a_batch": 10,
    "tests/unit/test_samples.py::test_same_seed_and_size_give_byte_identical_files": 10,
    "tests/integration/test_s3_faults.py::test_a_missing_bucket_fails_the_file_clearly_and_keeps_the_source": 10,
    "tests/integration/test_s3_faults.py::test_a_byte_flipped_in_a_derivative_is_refused_too": 10,
    "tests/integration/test_public_read.py::test_anonymous_get_reaches_public_prefixes_only": 9,
    "tests/integration/test_duplicates.py::test_copies_are_paired_and_different_objects_are_not": 9,
    "tests/integration/test_status_metrics.py::test_the_nightly_jobs_run_on_a_real_worker": 9,
    "tests/integration/test_embedded.py::test_services_use_a_running_redis_and_never_stop_it": 8,
    "tests/e2e/test_web_browser.py::test_plain_openseadragon_opens_a_tiled_image_from_the_bucket": 8,
    "tests/integration/test_backbone.py::test_ingesting_twice_changes_nothing": 8,
    "tests/integration/test_status_metrics.py::test_a_detached_batch_is_followed_by_status_and_finished_by_a_rerun": 8,
    "tests/integration/test_containment.py::test_a_decode_past_its_deadline_is_decode_timeout_and_the_pool_lives": 8,
    "tests/integration/test_worker_startup.py::test_wrong_storage_credentials_are_refused_without_showing_them": 7,
    "tests/integration/test_finish_batches.py::test_two_finishers_at_once_write_one_report": 7,
    "tests/integration/test_security.py::test_a_name_that_is_only_hostile_characters_is_quarantined_under_its_own_name": 6,
    "tests/integration/test_backbone.py::test_metadata_and_quality_reach_the_records_and_gps_stays_private": 6,
    "tests/integration/test_s3_faults.py::test_a_byte_flipped_in_transit_is_refused_and_never_stored": 6,
}

# Any other test, by folder: most integration tests start a worker or a server of their own.
DEFAULT_SECONDS = {"tests/unit/": 0.3, "tests/integration/": 2.0, "tests/e2e/": 5.0}


def expected_seconds(nodeid: str) -> float:
    """The expected duration of one test, by its node id."""
    if nodeid in SECONDS:
        return SECONDS[nodeid]
    return next((s for folder, s in DEFAULT_SECONDS.items() if nodeid.startswith(folder)), 1.0)
