/**
 * Debian's Chromium, for the console's browser test: playwright-core drives it (Playwright's own browser
 * downloads come from outside the package registries). `npm run setup` installs it (services/debian-tools.ts).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
