//===- SamplingTest.cpp - tessel_sample: greedy, temperature, top-k/p -----===//

#include "tessel/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace {

struct Sampler {
  tessel_sampler *s = nullptr;
  explicit Sampler(tessel_sampling_params p) {
    EXPECT_EQ(tessel_sampler_create(&p, &s), TESSEL_OK) << tessel_last_error();
  }
  ~Sampler() { tessel_sampler_free(s); }
  int64_t draw(const std::vector<float> &logits) {
    int64_t token = -1;
    EXPECT_EQ(tessel_sample(s, logits.data(), (int64_t)logits.size(), &token),
              TESSEL_OK)
        << tessel_last_error();
    return token;
  }
};

TEST(Sampling, GreedyTakesTheFirstMaximum) {
  Sampler greedy({0.0f, 0, 1.0f, 0});
  EXPECT_EQ(greedy.draw({0.5f, 2.0f, -1.0f, 2.0f}), 1);
  EXPECT_EQ(greedy.draw({NAN, -3.0f, -2.0f}), 2);
}

TEST(Sampling, TopKOfOneIsGreedy) {
  Sampler topOne({1.5f, 1, 1.0f, 7});
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(topOne.draw({0.1f, 0.3f, 3.0f, 0.2f}), 2);
}

TEST(Sampling, SmallTopPIsGreedy) {
  Sampler nucleus({1.0f, 0, 0.01f, 3});
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(nucleus.draw({0.1f, 4.0f, 3.9f, 0.2f}), 1);
}

TEST(Sampling, SameSeedSameDraws) {
  std::vector<float> logits = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  Sampler a({1.0f, 0, 1.0f, 42}), b({1.0f, 0, 1.0f, 42}),
      c({1.0f, 0, 1.0f, 43});
  std::vector<int64_t> da, db, dc;
  for (int i = 0; i < 64; ++i) {
    da.push_back(a.draw(logits));
    db.push_back(b.draw(logits));
    dc.push_back(c.draw(logits));
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

// Frequencies follow softmax(logits / T) restricted to top-k / top-p.
TEST(Sampling, FrequenciesFollowTheDistribution) {
  std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f, -1.0f};
  const int draws = 200000;
  auto histogram = [&](tessel_sampling_params p) {
    Sampler s(p);
    std::vector<double> count(logits.size(), 0);
    for (int i = 0; i < draws; ++i)
      count[s.draw(logits)] += 1.0 / draws;
    return count;
  };
  auto expected = [&](float t, std::vector<int> keep) {
    std::vector<double> p(logits.size(), 0);
    double sum = 0;
    for (int i : keep)
      sum += p[i] = std::exp(logits[i] / t);
    for (double &x : p)
      x /= sum;
    return p;
  };
  auto near = [](const std::vector<double> &a, const std::vector<double> &b) {
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(a[i], b[i], 0.006) << "token " << i;
  };
  near(histogram({0.7f, 0, 1.0f, 1}), expected(0.7f, {0, 1, 2, 3, 4}));
  near(histogram({1.0f, 3, 1.0f, 2}), expected(1.0f, {1, 3, 0}));
  // Probabilities at T=1: 0.437, 0.265, 0.161, ...: top-p 0.6 keeps 2.
  near(histogram({1.0f, 0, 0.6f, 3}), expected(1.0f, {1, 3}));
}

TEST(Sampling, BadArguments) {
  tessel_sampler *s = nullptr;
  tessel_sampling_params bad = {NAN, 0, 1.0f, 0};
  EXPECT_EQ(tessel_sampler_create(&bad, &s), TESSEL_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  bad = {1.0f, -1, 1.0f, 0};
  EXPECT_EQ(tessel_sampler_create(&bad, &s), TESSEL_INVALID_ARGUMENT);
  Sampler ok({1.0f, 0, 1.0f, 0});
  int64_t token;
  EXPECT_EQ(tessel_sample(ok.s, nullptr, 4, &token), TESSEL_INVALID_ARGUMENT);
  float one = 1.0f;
  EXPECT_EQ(tessel_sample(ok.s, &one, 0, &token), TESSEL_INVALID_ARGUMENT);
}

} // namespace
