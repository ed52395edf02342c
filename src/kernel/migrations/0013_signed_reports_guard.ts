// A signed report version is immutable (its digest is in the audit log): the database itself refuses an
// UPDATE that would change what was signed or where the version sits in the chain, whoever sends it.
// Allowed on a signed row: a new envelope around the same sealed body (master key rotation: the digest
// still covers the plaintext) and the author's id set to NULL when their account is erased.
// Also indexes `replaces_id`, which every read of a version joins on to find its successor.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement each (the function's body holds semicolons): not through runStatements.
  await sql
    .raw(
      `CREATE FUNCTION refuse_signed_report_change() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        IF OLD.signed_at IS NOT NULL AND (
          NEW.signed_at IS DISTINCT FROM OLD.signed_at OR NEW.digest IS DISTINCT FROM OLD.digest
          OR NEW.version IS DISTINCT FROM OLD.version OR NEW.format IS DISTINCT FROM OLD.format
          OR NEW.consultation_id IS DISTINCT FROM OLD.consultation_id OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
          OR NEW.replaces_id IS DISTINCT FROM OLD.replaces_id
          OR (NEW.author_id IS DISTINCT FROM OLD.author_id AND NEW.author_id IS NOT NULL)
        ) THEN
          RAISE EXCEPTION 'consultation report % version % is signed: it cannot change', OLD.id, OLD.version USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END
      $body$`,
    )
    .execute(db);
  await sql.raw('CREATE TRIGGER consultation_reports_signed_guard BEFORE UPDATE ON consultation_reports FOR EACH ROW EXECUTE FUNCTION refuse_signed_report_change()').execute(db);
  await sql.raw('CREATE INDEX consultation_reports_replaces ON consultation_reports (replaces_id) WHERE replaces_id IS NOT NULL').execute(db);
}
