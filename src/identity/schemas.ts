// Request shapes shared by several identity routes.
import Type from 'typebox';
import { Code, Text } from '../kernel/schemas.js';

export const IdentityTraitsSchema = Type.Object(
  {
    birthName: Text(100),
    firstNames: Text(200),
    birthDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    sex: Type.Enum(['F', 'M', 'U']),
    birthplaceCode: Code(5, 5),
    insNir: Type.Optional(Code(32, 0)),
  },
  { additionalProperties: false },
);

export const NewPasswordSchema = Type.String({ minLength: 1, maxLength: 1024 });
export const EmailSchema = Type.String({ format: 'email', maxLength: 254, pattern: '^[^\\u0000-\\u001F\\u007F]*$' });
export const DisplayNameSchema = Text(120);
