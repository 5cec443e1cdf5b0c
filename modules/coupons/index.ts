/**
 * The public face of modules/coupons: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/coupons/rules/ and modules/coupons/shapes.ts instead, never this file.
 */
export { createCoupon, getCoupon, listCoupons, updateCoupon } from './coupons';
export { confirmCouponUse, judgeCoupon, previewView, recordCouponReservation, releaseCouponUse, reserveCouponUse } from './redemptions';
export { couponPreviewSchema, couponSchema } from './views';
export type { CouponPreviewView } from './views';
