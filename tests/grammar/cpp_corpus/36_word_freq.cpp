#include <bits/stdc++.h>
using namespace std;

vector<pair<string, int>> topWords(const string& text, int k) {
    map<string, int> freq;
    stringstream ss(text);
    string w;
    while (ss >> w) {
        string clean;
        for (char c : w)
            if (isalpha(c)) clean += tolower(c);
        if (!clean.empty()) freq[clean]++;
    }
    vector<pair<string, int>> items(freq.begin(), freq.end());
    sort(items.begin(), items.end(), [](const pair<string, int>& a, const pair<string, int>& b) {
        if (a.second != b.second) return a.second > b.second;
        return a.first < b.first;
    });
    if ((int)items.size() > k) items.resize(k);
    return items;
}
