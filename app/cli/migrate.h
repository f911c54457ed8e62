/* migrate.h - forward-only SQL migrations from <share>/sql/NNN_name.sql.
 *
 * Each file runs in its own transaction and is recorded in
 * sluice.schema_migrations (version, name, checksum sha256, applied_at).
 * A changed applied file is refused (SL_ECHANGED); concurrent runs are
 * serialised by an advisory lock; a second run is a no-op. */
#ifndef SL_MIGRATE_H
#define SL_MIGRATE_H

#include "db.h"
#include "err.h"

/* Apply pending migrations from sql_dir. *applied (if not NULL) receives
 * how many files were applied now. */
sl_err migrate_run(db *d, const char *sql_dir, int *applied, sl_errbuf *eb);

#endif
