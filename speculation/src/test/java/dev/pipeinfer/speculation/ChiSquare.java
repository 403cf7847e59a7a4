package dev.pipeinfer.speculation;

/** The 99.99% quantile of the chi-square distribution (Wilson-Hilferty approximation, good for df >= 3). */
final class ChiSquare {
    private ChiSquare() {
    }

    static double quantile9999(int df) {
        double z = 3.719; // standard normal 99.99% quantile
        double a = 2.0 / (9.0 * df);
        double c = 1 - a + z * Math.sqrt(a);
        return df * c * c * c;
    }
}
