// The "Documents du dossier" card: the record's documents, newest first — name (a download link), type,
// size, date, whether sent during a consultation or imported, who added it — and the import form of an
// external document (raw body, like a document sent during a call). Read only after breaking the glass.
// GET/POST /api/patients/<id>/documents, GET /api/documents/<id>.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Submit, UiError, useAction } from '../ui';
import { formatSize, type RecordPurpose } from './model';
import { useRecordTexts } from './record-texts';

interface RecordDocument {
  id: string;
  consultationId: string | null;
  fileName: string;
  mediaType: string;
  sizeBytes: number;
  createdAt: string;
  uploadedBy: string | null;
}

const LIMIT = 50;
/** What the server takes (src/records/media-types.ts); the input's filter, the server checks anyway. */
const ACCEPT = 'application/pdf,image/jpeg,image/png,image/webp,image/heic,image/heif,text/plain,.pdf,.jpg,.jpeg,.png,.webp,.heic,.heif,.txt';

export function RecordDocuments({ patientId, purpose, canWrite }: { patientId: string; purpose?: RecordPurpose; canWrite: boolean }) {
  const { t } = useI18n();
  const d = useRecordTexts().documents;
  const { session } = useApp();
  const titleId = useId();
  const [list, setList] = useState<{ total: number; documents: RecordDocument[] } | null>(null);
  const [status, setStatus] = useState('');
  const load = useAction();
  const latest = useRef(0);
  const writable = canWrite && purpose !== 'emergency';

  const reload = useCallback(async () => {
    const asked = ++latest.current;
    const query = new URLSearchParams({ limit: String(LIMIT), ...(purpose ? { purpose } : {}) });
    const answer = await api.get<{ total: number; documents: RecordDocument[] }>(`/api/patients/${encodeURIComponent(patientId)}/documents?${query}`);
    if (asked === latest.current) setList(answer);
  }, [patientId, purpose]);
  useEffect(() => void load.run(reload), [reload]);

  const author = (uploadedBy: string | null) =>
    uploadedBy === null ? d.authors.unknown : uploadedBy === session?.user.id ? d.authors.you : uploadedBy === patientId ? d.authors.patient : d.authors.professional;
  const href = (id: string) => `/api/documents/${id}${purpose === 'emergency' ? '?purpose=emergency' : ''}`;

  return (
    <section aria-labelledby={titleId} className="card record-card">
      <h2 id={titleId}>{d.title}</h2>
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-success">{status}</p>}
      </div>
      <ErrorAlert error={load.error} />
      {!list && !load.error ? (
        <p>{t.common.loading}</p>
      ) : list && list.documents.length === 0 ? (
        <p>{d.none}</p>
      ) : list ? (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={d.caption(list.documents.length, list.total)}>
          <table className="data" data-testid="record-documents">
            <caption>{d.caption(list.documents.length, list.total)}</caption>
            <thead>
              <tr>
                <th scope="col">{d.name}</th>
                <th scope="col">{d.type}</th>
                <th scope="col">{d.size}</th>
                <th scope="col">{d.date}</th>
                <th scope="col">{d.origin}</th>
                <th scope="col">{d.addedBy}</th>
              </tr>
            </thead>
            <tbody>
              {list.documents.map((document) => (
                <tr key={document.id}>
                  <th scope="row" className="document-name">
                    <a href={href(document.id)} download={document.fileName}>
                      <span className="visually-hidden">{d.download} </span>
                      {document.fileName}
                    </a>
                  </th>
                  <td>{d.types[document.mediaType] ?? document.mediaType}</td>
                  <td className="number">{formatSize(t, document.sizeBytes, d.units)}</td>
                  <td>{formatDateTime(t, document.createdAt)}</td>
                  <td>{document.consultationId ? <a href={`#/consultations/${document.consultationId}`}>{d.fromConsultation}</a> : d.imported}</td>
                  <td>{author(document.uploadedBy)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {writable && (
        <ImportForm
          patientId={patientId}
          onStart={() => setStatus('')}
          onImported={async (name) => {
            await load.run(reload);
            setStatus(d.imported_(name));
          }}
        />
      )}
    </section>
  );
}

function ImportForm({ patientId, onImported, onStart }: { patientId: string; onImported: (name: string) => Promise<void>; onStart: () => void }) {
  const d = useRecordTexts().documents;
  const id = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const errorRef = useRef<HTMLDivElement>(null);
  const [missing, setMissing] = useState(false);
  const upload = useAction();

  useEffect(() => {
    if (upload.error) errorRef.current?.focus();
  }, [upload.error]);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    void upload.run(async () => {
      onStart();
      setMissing(!file);
      if (!file) throw new UiError(d.fileRequired);
      const created = await api.upload<RecordDocument>(`/api/patients/${encodeURIComponent(patientId)}/documents`, file);
      if (fileInput.current) fileInput.current.value = '';
      await onImported(created.fileName);
    });
  };

  const described = [`${id}-hint`, missing ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <form onSubmit={submit} noValidate className="record-form" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{d.formTitle}</h3>
      <div ref={errorRef} tabIndex={-1} className="focus-target">
        <ErrorAlert error={upload.error} />
      </div>
      <div className={missing ? 'field field-invalid' : 'field'}>
        <label htmlFor={`${id}-file`}>{d.fileField}</label>
        <p className="hint" id={`${id}-hint`}>
          {d.fileHint}
        </p>
        {missing && (
          <p className="field-error" id={`${id}-error`}>
            {d.fileRequired}
          </p>
        )}
        <input ref={fileInput} id={`${id}-file`} name="file" type="file" accept={ACCEPT} required aria-invalid={missing || undefined} aria-describedby={described} onChange={() => setMissing(false)} />
      </div>
      <Submit busy={upload.busy}>{d.submit}</Submit>
    </form>
  );
}
