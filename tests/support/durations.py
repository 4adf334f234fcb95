"""How long the suite's slowest tests take (setup + call + teardown, seconds, four xdist
processes on a 2-core machine), so that `--dist loadgroup` hands them out first and the run
does not end waiting for one of them (tests/conftest.py, pytest_xdist_make_scheduler).

Only the order depends on these figures: a test missing here, or a figure out of date, is
still run, just not first. The table is written by tests/tools/durations_table.py from a run's
`--durations=250` report (each test's phases summed; those of 6 s or more, longest first).
"""

# ruff: noqa: E501  (a table of node ids, one a line)

from __future__ import annotations

SECONDS: dict[str, float] = {
    "tests/e2e/test_demo.py::test_demo_runs_twice_without_duplicates_and_stops_cleanly": 108,
    "tests/integration/test_batch.py::test_an_interrupted_batch_resumes_and_stores_every_scan_once": 90,
    "tests/integration/test_backbone.py::test_the_sample_collection_is_stored_and_verified_per_object": 57,
    "tests/integration/test_batch.py::test_redis_restarted_empty_mid_batch_loses_no_scan": 53,
    "tests/integration/test_security.py::test_secrets_appear_in_no_log_record_report_reason_or_message": 52,
    "tests/integration/test_backbone.py::test_many_views_of_one_artefact_at_once_are_all_listed": 34,
    "tests/integration/test_cluster_fault.py::test_a_volume_server_killed_mid_batch_loses_no_scan": 33,
    "tests/integration/test_handoff.py::test_two_machines_share_a_batch_and_one_killed_mid_batch_loses_nothing": 31,
    "tests/integration/test_handoff.py::test_a_worker_that_cannot_see_the_drop_folder_stores_every_scan": 24,
    "tests/integration/test_live_index.py::test_a_running_api_finds_new_records_live_and_missed_ones_after_a_catch_up": 21,
    "tests/integration/test_batch.py::test_messages_lost_by_the_broker_are_found_and_sent_again": 21,
    "tests/integration/test_storage_outage.py::test_an_outage_fails_the_file_softly_and_a_rerun_stores_it": 21,
    "tests/integration/test_process_faults.py::test_sigterm_during_a_long_task_then_sigkill_loses_nothing_and_duplicates_nothing[killed-after-grace]": 20,
    "tests/e2e/test_web_browser.py::test_search_without_diacritics_then_zoom_into_the_object": 19,
    "tests/integration/test_process_faults.py::test_the_whole_worker_killed_mid_multipart_upload_finishes_after_a_restart": 19,
    "tests/integration/test_process_faults.py::test_a_crash_between_the_derivatives_and_the_record_leaves_no_record_until_completed": 19,
    "tests/integration/test_installations.py::test_celery_inspect_ping_reaches_this_installations_workers_only": 19,
    "tests/integration/test_watch.py::test_a_file_that_failed_stays_and_is_retried": 18,
    "tests/integration/test_process_faults.py::test_a_task_delivered_twice_at_once_stores_once": 17,
    "tests/integration/test_containment.py::test_a_decode_beyond_the_memory_ceiling_is_quarantined_and_the_pool_lives": 15,
    "tests/integration/test_finish_batches.py::test_a_batch_whose_queue_was_emptied_is_completed_by_the_task": 14,
    "tests/integration/test_bad_inputs_worker.py::test_every_bad_file_is_quarantined_and_every_sound_one_stored": 14,
    "tests/integration/test_session_worker.py::test_the_hot_folder_scores_sessions_and_a_late_chart_reaches_every_scan": 13,
    "tests/integration/test_watch.py::test_a_restart_finishes_what_was_pending[inotify]": 13,
    "tests/integration/test_process_faults.py::test_sigterm_during_a_long_task_then_sigkill_loses_nothing_and_duplicates_nothing[finishes-within-grace]": 13,
    "tests/integration/test_s3_faults.py::test_slow_down_and_internal_errors_are_retried_then_stored": 12,
    "tests/integration/test_watch.py::test_a_restart_finishes_what_was_pending[poll]": 12,
    "tests/integration/test_installations.py::test_tasks_queued_before_the_upgrade_are_pointed_at_and_taken": 12,
    "tests/integration/test_process_faults.py::test_a_worker_child_killed_mid_scan_is_redelivered_and_stored_once": 11,
    "tests/integration/test_embedded.py::test_a_crashed_seaweedfs_comes_back_where_it_was_or_says_why_not": 11,
    "tests/integration/test_duplicates.py::test_copies_are_paired_and_different_objects_are_not": 11,
    "tests/integration/test_containment.py::test_a_child_stuck_past_the_hard_time_limit_is_killed_and_its_file_quarantined": 11,
    "tests/integration/test_watch.py::test_complete_files_are_taken_once_and_cleared_out[inotify]": 11,
    "tests/integration/test_worker_startup.py::test_a_redis_that_may_evict_keys_is_refused": 10,
    "tests/integration/test_security.py::test_hostile_file_names_are_stored_under_safe_keys_and_kept_exactly": 10,
    "tests/integration/test_status_metrics.py::test_metrics_and_status_after_a_batch": 10,
    "tests/integration/test_status_metrics.py::test_the_nightly_jobs_run_on_a_real_worker": 10,
    "tests/integration/test_finish_batches.py::test_a_detached_batch_is_reported_and_finished_once_by_the_task": 10,
    "tests/integration/test_worker_lost.py::test_a_file_that_keeps_killing_its_worker_is_quarantined_as_worker_lost": 10,
    "tests/integration/test_watch.py::test_complete_files_are_taken_once_and_cleared_out[poll]": 10,
    "tests/integration/test_finish_batches.py::test_two_finishers_at_once_write_one_report": 10,
    "tests/integration/test_s3_faults.py::test_a_byte_flipped_in_a_derivative_is_refused_too": 10,
    "tests/integration/test_backbone.py::test_ingesting_twice_changes_nothing": 9,
    "tests/integration/test_finish_batches.py::test_the_fixity_sample_writes_its_report_with_the_damaged_master": 9,
    "tests/integration/test_containment.py::test_a_decode_past_its_deadline_is_decode_timeout_and_the_pool_lives": 9,
    "tests/integration/test_s3_faults.py::test_wrong_credentials_stop_an_ingest_before_anything_is_queued": 9,
    "tests/integration/test_s3_faults.py::test_a_soft_time_limit_while_storing_is_retried_not_quarantined": 9,
    "tests/integration/test_security.py::test_hostile_metadata_is_capped_cleaned_and_gps_stays_private": 8,
    "tests/integration/test_backbone.py::test_bad_files_are_quarantined_with_code_and_remedy": 8,
    "tests/integration/test_session_worker.py::test_an_ingest_without_wait_is_scored_by_the_workers": 8,
    "tests/integration/test_s3_faults.py::test_a_byte_flipped_in_a_tile_is_refused_and_sent_again": 8,
    "tests/integration/test_s3_faults.py::test_a_byte_flipped_in_transit_is_refused_and_never_stored": 8,
    "tests/integration/test_public_read.py::test_anonymous_get_reaches_public_prefixes_only": 8,
    "tests/integration/test_s3_faults.py::test_a_connection_dropped_after_the_master_was_stored_is_retried_into_a_412": 8,
    "tests/integration/test_embedded.py::test_services_use_a_running_redis_and_never_stop_it": 8,
    "tests/integration/test_s3_faults.py::test_tile_writes_answered_503_are_retried_within_the_task": 8,
    "tests/integration/test_live_index.py::test_the_follower_keeps_going_when_redis_does_not_answer": 7,
    "tests/integration/test_batch.py::test_a_batch_with_an_inventory_gives_its_records_the_rows": 7,
    "tests/integration/test_live_index.py::test_the_follower_reads_only_what_changed_and_survives_bad_records": 7,
    "tests/integration/test_worker_startup.py::test_wrong_storage_credentials_are_refused_without_showing_them": 7,
    "tests/integration/test_handoff.py::test_the_hot_folder_stages_and_moves_a_file_to_done_once_its_master_is_proven": 7,
    "tests/integration/test_installations.py::test_queue_names_derive_from_the_installation": 7,
    "tests/integration/test_cluster.py::test_a_changed_a_missing_and_a_stray_master_are_exactly_what_is_reported": 7,
    "tests/integration/test_backbone.py::test_views_become_one_verified_record": 7,
    "tests/integration/test_backbone.py::test_metadata_and_quality_reach_the_records_and_gps_stays_private": 7,
    "tests/integration/test_status_metrics.py::test_a_detached_batch_is_followed_by_status_and_finished_by_a_rerun": 6,
    "tests/unit/test_quality.py::test_sharpness_is_comparable_across_sizes[1000]": 6,
    "tests/integration/test_backbone.py::test_the_same_bytes_under_two_names_are_one_scan": 6,
}

# Any other test, by folder: most integration tests start a worker or a server of their own.
DEFAULT_SECONDS = {"tests/unit/": 0.3, "tests/integration/": 2.0, "tests/e2e/": 5.0}


def expected_seconds(nodeid: str) -> float:
    """The expected duration of one test, by its node id."""
    if nodeid in SECONDS:
        return SECONDS[nodeid]
    return next((s for folder, s in DEFAULT_SECONDS.items() if nodeid.startswith(folder)), 1.0)
