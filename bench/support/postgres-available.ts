// Exit status 0 when PostgreSQL answers at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
import { postgresAvailable } from './server.js';

process.exit((await postgresAvailable()) ? 0 : 1);
