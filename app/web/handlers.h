/* handlers.h - every route handler, grouped by the file that defines it.
 * routes.c wires them into the routes table. */
#ifndef SL_HANDLERS_H
#define SL_HANDLERS_H

#include "http.h"

/* health.c */
void h_healthz(request *r);
void h_metrics(request *r);

/* openapi.c */
void h_api_openapi(request *r);

/* login.c */
void h_login_form(request *r);
void h_login(request *r);
void h_logout(request *r);

/* dashboard.c */
void h_dashboard(request *r);

/* users.c */
void h_users_list(request *r);
void h_users_new(request *r);
void h_users_create(request *r);
void h_user_show(request *r);
void h_user_update(request *r);
void h_user_password_form(request *r);
void h_user_password(request *r);
void h_user_deactivate_form(request *r);
void h_user_deactivate(request *r);
void h_user_activate(request *r);
void h_api_users_list(request *r);
void h_api_user_get(request *r);
void h_api_me(request *r);

/* tokens.c */
void h_tokens_page(request *r);
void h_token_create(request *r);
void h_token_revoke_form(request *r);
void h_token_revoke(request *r);
void h_api_tokens_list(request *r);
void h_api_token_create(request *r);
void h_api_tokens_all(request *r);
void h_api_token_delete(request *r);

/* auditlog.c */
void h_audit_page(request *r);
void h_api_audit(request *r);

/* sources.c */
void h_sources_list(request *r);
void h_sources_new(request *r);
void h_sources_create(request *r);
void h_source_show(request *r);
void h_source_edit(request *r);
void h_source_update(request *r);
void h_source_delete_form(request *r);
void h_source_delete(request *r);
void h_source_test(request *r);
void h_source_discover(request *r);
void h_api_sources_list(request *r);
void h_api_source_create(request *r);
void h_api_source_get(request *r);
void h_api_source_put(request *r);
void h_api_source_patch(request *r);
void h_api_source_delete(request *r);
void h_api_source_test(request *r);
void h_api_source_discover(request *r);

/* destinations.c */
void h_destinations_list(request *r);
void h_destinations_new(request *r);
void h_destinations_create(request *r);
void h_destination_show(request *r);
void h_destination_edit(request *r);
void h_destination_update(request *r);
void h_destination_delete_form(request *r);
void h_destination_delete(request *r);
void h_destination_make_default(request *r);
void h_destination_test(request *r);
void h_api_destinations_list(request *r);
void h_api_destination_create(request *r);
void h_api_destination_get(request *r);
void h_api_destination_put(request *r);
void h_api_destination_patch(request *r);
void h_api_destination_delete(request *r);
void h_api_destination_test(request *r);

/* notifications.c */
void h_notifications_list(request *r);
void h_notifications_new(request *r);
void h_notifications_create(request *r);
void h_notification_show(request *r);
void h_notification_edit(request *r);
void h_notification_update(request *r);
void h_notification_delete_form(request *r);
void h_notification_delete(request *r);
void h_notification_test(request *r);
void h_notification_subscription(request *r);

/* notifications_api.c */
void h_api_notification_targets_list(request *r);
void h_api_notification_target_create(request *r);
void h_api_notification_target_get(request *r);
void h_api_notification_target_patch(request *r);
void h_api_notification_target_delete(request *r);
void h_api_notification_target_test(request *r);

/* notification_subs.c */
void h_pipeline_notifications_save(request *r);
void h_pipeline_notification_remove_form(request *r);
void h_pipeline_notification_remove(request *r);
void h_api_pipeline_notifications_get(request *r);
void h_api_pipeline_notifications_put(request *r);

/* pipelines.c */
void h_pipelines_list(request *r);
void h_pipelines_new(request *r);
void h_pipelines_create(request *r);
void h_pipeline_show(request *r);
void h_pipeline_edit(request *r);
void h_pipeline_update(request *r);
void h_pipeline_pause(request *r);
void h_pipeline_resume(request *r);
void h_pipeline_delete_form(request *r);
void h_pipeline_delete(request *r);

/* pipeline_tables.c */
void h_pipeline_tables_save(request *r);
void h_pipeline_tables_add(request *r);

/* pipelines_api.c */
void h_api_pipelines_list(request *r);
void h_api_pipeline_create(request *r);
void h_api_pipeline_get(request *r);
void h_api_pipeline_put(request *r);
void h_api_pipeline_patch(request *r);
void h_api_pipeline_delete(request *r);
void h_api_pipeline_tables_get(request *r);
void h_api_pipeline_tables_put(request *r);
void h_api_pipeline_pause(request *r);
void h_api_pipeline_resume(request *r);

/* pipeline_versions.c */
void h_pipeline_versions(request *r);
void h_pipeline_versions_diff(request *r);
void h_pipeline_version_show(request *r);
void h_pipeline_rollback_form(request *r);
void h_pipeline_rollback(request *r);
void h_api_pipeline_versions(request *r);
void h_api_pipeline_version_get(request *r);
void h_api_pipeline_rollback(request *r);

/* runs.c */
void h_runs_list(request *r);
void h_run_show(request *r);
void h_run_cancel_form(request *r);
void h_run_cancel(request *r);
void h_run_retry(request *r);
void h_pipeline_run_form(request *r);
void h_pipeline_run_queue(request *r);

/* runs_api.c */
void h_api_pipeline_run_queue(request *r);
void h_api_runs_list(request *r);
void h_api_run_get(request *r);
void h_api_run_logs(request *r);
void h_api_run_cancel(request *r);
void h_api_run_retry(request *r);

/* pipeline_graph.c */
void h_pipelines_graph(request *r);

/* settings.c */
void h_settings_page(request *r);
void h_settings_save(request *r);
void h_api_settings_get(request *r);
void h_api_settings_patch(request *r);

/* retention.c */
void h_settings_retention_form(request *r);
void h_settings_retention_run(request *r);
void h_api_retention_status(request *r);
void h_api_retention_run(request *r);

/* pipeline_retention.c */
void h_pipeline_retention(request *r);
void h_pipeline_retention_save(request *r);
void h_api_pipeline_retention_get(request *r);
void h_api_pipeline_retention_put(request *r);

/* events.c */
void h_events_page(request *r);
void h_api_events(request *r);
void h_api_event_consumers(request *r);

/* triggers.c */
void h_pipeline_triggers(request *r);
void h_pipeline_trigger_new(request *r);
void h_pipeline_trigger_create(request *r);
void h_trigger_edit(request *r);
void h_trigger_update(request *r);
void h_trigger_enable(request *r);
void h_trigger_disable(request *r);
void h_trigger_delete_form(request *r);
void h_trigger_delete(request *r);
void h_trigger_rotate_form(request *r);
void h_trigger_rotate(request *r);

/* triggers_api.c */
void h_api_pipeline_triggers(request *r);
void h_api_pipeline_trigger_create(request *r);
void h_api_trigger_get(request *r);
void h_api_trigger_patch(request *r);
void h_api_trigger_delete(request *r);
void h_api_trigger_rotate(request *r);

/* hooks.c */
void h_api_hook(request *r);

/* partitions.c */
void h_partitions_page(request *r);
void h_partitions_run_form(request *r);
void h_partitions_run(request *r);
void h_api_partitions(request *r);
void h_api_partitions_run(request *r);

/* deliveries.c */
void h_deliveries_page(request *r);
void h_message_retry(request *r);
void h_message_discard_form(request *r);
void h_message_discard(request *r);
void h_dead_letters_retry(request *r);
void h_dead_letters_discard_form(request *r);
void h_dead_letters_discard(request *r);

/* deliveries_api.c */
void h_api_target_deliveries(request *r);
void h_api_messages_list(request *r);
void h_api_message_retry(request *r);
void h_api_message_delete(request *r);

/* landing.c */
void h_landing_list(request *r);
void h_landing_new(request *r);
void h_landing_create(request *r);
void h_landing_show(request *r);
void h_landing_update(request *r);
void h_landing_edit(request *r);
void h_landing_delete_form(request *r);
void h_landing_delete(request *r);
void h_landing_upload(request *r);

/* landing_api.c */
void h_api_landing_zones_list(request *r);
void h_api_landing_zone_create(request *r);
void h_api_landing_zone_get(request *r);
void h_api_landing_zone_patch(request *r);
void h_api_landing_zone_delete(request *r);
void h_api_landing_files_post(request *r);
void h_api_landing_files_list(request *r);
void h_api_landing_file_put(request *r);

/* landing_preview.c */
void h_landing_preview(request *r);

#endif
