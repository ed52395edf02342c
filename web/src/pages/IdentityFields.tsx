// The identity traits of a patient (INS): shared by sign-up and invitation.
import type { Identity } from '../api';
import { useI18n } from '../i18n';
import { Field } from '../ui';

export function IdentityFields({ problem }: { problem: unknown }) {
  const { t } = useI18n();
  const id = t.identity;
  const max = new Date().toISOString().slice(0, 10);
  return (
    <fieldset>
      <legend>{id.legend}</legend>
      <p className="hint">{id.intro}</p>
      <Field label={id.birthName} name="birthName" pointer="/identity/birthName" autoComplete="family-name" problem={problem} />
      <Field
        label={id.firstNames}
        name="firstNames"
        pointer="/identity/firstNames"
        hint={id.firstNamesHint}
        autoComplete="given-name"
        problem={problem}
      />
      <Field
        label={id.birthDate}
        name="birthDate"
        pointer="/identity/birthDate"
        type="date"
        min="1900-01-01"
        max={max}
        autoComplete="bday"
        problem={problem}
      />
      <fieldset className="inline-choices">
        <legend>{id.sex}</legend>
        {(['F', 'M', 'U'] as const).map((sex) => (
          <label key={sex} className="choice">
            <input type="radio" name="sex" value={sex} required />
            {id.sexes[sex]}
          </label>
        ))}
      </fieldset>
      <Field
        label={id.birthplace}
        name="birthplaceCode"
        pointer="/identity/birthplaceCode"
        hint={id.birthplaceHint}
        inputMode="text"
        autoCapitalize="characters"
        pattern="[0-9][0-9ABab][0-9]{3}"
        minLength={5}
        maxLength={5}
        className="short"
        problem={problem}
      />
      <Field
        label={id.insNir}
        name="insNir"
        pointer="/identity/insNir"
        hint={id.insNirHint}
        optional
        inputMode="numeric"
        autoComplete="off"
        maxLength={21}
        problem={problem}
      />
    </fieldset>
  );
}

export function identityFrom(values: Record<string, string>): Identity {
  const identity: Identity = {
    birthName: values.birthName ?? '',
    firstNames: values.firstNames ?? '',
    birthDate: values.birthDate ?? '',
    sex: values.sex === 'F' || values.sex === 'M' ? values.sex : 'U',
    birthplaceCode: (values.birthplaceCode ?? '').toUpperCase(),
  };
  const insNir = (values.insNir ?? '').replace(/\s+/g, '').toUpperCase();
  if (insNir) identity.insNir = insNir;
  return identity;
}
