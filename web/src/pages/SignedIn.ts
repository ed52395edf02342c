// The pages reached only once signed in, bundled together and loaded on demand.
export { Admin } from './Admin';
export { Security } from './Security';
