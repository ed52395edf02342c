// Request shapes shared by several identity routes.
import Type from 'typebox';

export const IdentityTraitsSchema = Type.Object(
  {
    birthName: Type.String({ minLength: 1, maxLength: 100 }),
    firstNames: Type.String({ minLength: 1, maxLength: 200 }),
    birthDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    sex: Type.Enum(['F', 'M', 'U']),
    birthplaceCode: Type.String({ minLength: 5, maxLength: 5 }),
    insNir: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);

export const NewPasswordSchema = Type.String({ minLength: 1, maxLength: 1024 });
export const EmailSchema = Type.String({ format: 'email', maxLength: 254 });
export const DisplayNameSchema = Type.String({ minLength: 1, maxLength: 120 });
