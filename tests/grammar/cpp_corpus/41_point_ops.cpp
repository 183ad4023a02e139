#include <cmath>
#include <iostream>
using namespace std;

struct Point {
    double x = 0, y = 0;
    Point() = default;
    Point(double x_, double y_) : x(x_), y(y_) {}
    Point operator+(const Point& o) const { return Point(x + o.x, y + o.y); }
    Point operator-(const Point& o) const { return {x - o.x, y - o.y}; }
    Point operator*(double k) const { return Point(x * k, y * k); }
    Point& operator+=(const Point& o) { x += o.x; y += o.y; return *this; }
    bool operator==(const Point& o) const { return x == o.x && y == o.y; }
    bool operator<(const Point& o) const { return x < o.x || (x == o.x && y < o.y); }
    double norm() const { return sqrt(x * x + y * y); }
};

double cross(const Point& a, const Point& b) { return a.x * b.y - a.y * b.x; }

ostream& operator<<(ostream& os, const Point& p) {
    return os << "(" << p.x << ", " << p.y << ")";
}
