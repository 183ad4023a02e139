#include <bits/stdc++.h>
using namespace std;

vector<int> scheduleJobs(vector<tuple<int, int, int>> jobs) {
    sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) {
        return get<1>(a) != get<1>(b) ? get<1>(a) < get<1>(b) : get<0>(a) > get<0>(b);
    });
    vector<int> order;
    int t = 0;
    for (auto& [id, deadline, dur] : jobs) {
        if (t + dur <= deadline) {
            t += dur;
            order.push_back(id);
        }
    }
    return order;
}
