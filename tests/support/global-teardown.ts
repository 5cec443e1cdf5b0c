export default async function globalTeardown(): Promise<void> {
  const services = globalThis.__durableBillingServices ?? [];
  await Promise.all(services.map((service) => service.stop()));
}
