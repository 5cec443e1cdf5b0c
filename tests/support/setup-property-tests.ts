// Jest `setupFiles`: runs in every test file before its tests (see property-seed.ts).
import { configurePropertyTests } from './property-seed';

configurePropertyTests();
