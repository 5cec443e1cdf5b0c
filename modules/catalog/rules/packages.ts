/**
 * Package rules, pure: the create schema and the merged result of a PATCH both apply them, so a
 * package can never be saved in a shape the burn-down and expiry rules cannot serve.
 */
import type { PackageType } from '../../../generated/prisma/enums';

export interface PackageShape {
  type: PackageType;
  creditsAmount: number;
  durationDays?: number | null | undefined;
}

export interface RuleViolation {
  path: 'durationDays' | 'creditsAmount';
  message: string;
}

/**
 * permanent never expires; duration and hybrid always expire; credits may or may not.
 * credits and hybrid exist to give credits, so they must give some.
 */
export function packageRuleViolations(shape: PackageShape): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const hasDuration = shape.durationDays !== null && shape.durationDays !== undefined;
  if (shape.type === 'permanent' && hasDuration) {
    violations.push({ path: 'durationDays', message: 'must be null or absent for a permanent package' });
  }
  if ((shape.type === 'duration' || shape.type === 'hybrid') && !hasDuration) {
    violations.push({ path: 'durationDays', message: `is required for a ${shape.type} package` });
  }
  if ((shape.type === 'credits' || shape.type === 'hybrid') && shape.creditsAmount <= 0) {
    violations.push({ path: 'creditsAmount', message: `must be greater than 0 for a ${shape.type} package` });
  }
  return violations;
}
