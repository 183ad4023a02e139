#include <vector>
using namespace std;

int searchInsert(const vector<int>& a, int target) {
    int lo = 0, hi = (int)a.size();
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < target) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

double sqrtBisect(double x) {
    double lo = 0.0, hi = x < 1.0 ? 1.0 : x;
    for (int it = 0; it < 100; ++it) {
        double mid = (lo + hi) * 0.5;
        (mid * mid < x ? lo : hi) = mid;
    }
    return lo;
}
