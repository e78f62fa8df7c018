/* nn.c — norms, activations and softmax (reference: torch.nn.functional, CPU float32). */
#include "core/ops/nn.h"

#include <math.h>

void
gill_nn_layer_norm (const float *x,
                    float       *y,
                    gint64       rows,
                    gint64       dim,
                    const float *gamma,
                    const float *beta,
                    float        eps)
{
  for (gint64 r = 0; r < rows; r++)
    {
      const float *xr = x + r * dim;
      float *yr = y + r * dim;
      double mean = 0, var = 0;
      for (gint64 i = 0; i < dim; i++)
        mean += xr[i];
      mean /= dim;
      for (gint64 i = 0; i < dim; i++)
        var += (xr[i] - mean) * (xr[i] - mean);
      var /= dim;
      float inv = (float) (1.0 / sqrt (var + eps));
      for (gint64 i = 0; i < dim; i++)
        {
          float v = (float) (xr[i] - mean) * inv;
          yr[i] = v * (gamma ? gamma[i] : 1.0f) + (beta ? beta[i] : 0.0f);
        }
    }
}

void
gill_nn_group_norm (const float *x,
                    float       *y,
                    gint64       channels,
                    gint64       spatial,
                    gint64       groups,
                    const float *gamma,
                    const float *beta,
                    float        eps)
{
  gint64 per = channels / groups;
  for (gint64 g = 0; g < groups; g++)
    {
      const float *xg = x + g * per * spatial;
      float *yg = y + g * per * spatial;
      gint64 n = per * spatial;
      double mean = 0, var = 0;
      for (gint64 i = 0; i < n; i++)
        mean += xg[i];
      mean /= n;
      for (gint64 i = 0; i < n; i++)
        var += (xg[i] - mean) * (xg[i] - mean);
      var /= n;
      float inv = (float) (1.0 / sqrt (var + eps));
      for (gint64 c = 0; c < per; c++)
        {
          gint64 ch = g * per + c;
          float s = gamma ? gamma[ch] : 1.0f, b = beta ? beta[ch] : 0.0f;
          for (gint64 i = 0; i < spatial; i++)
            yg[c * spatial + i] = (float) (xg[c * spatial + i] - mean) * inv * s + b;
        }
    }
}

void
gill_nn_relu (float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    x[i] = x[i] > 0 ? x[i] : 0;
}

void
gill_nn_gelu (float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
}

void
gill_nn_quick_gelu (float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    x[i] = x[i] / (1.0f + expf (-1.702f * x[i]));
}

void
gill_nn_silu (float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    x[i] = x[i] / (1.0f + expf (-x[i]));
}

void
gill_nn_softmax (float *x, gint64 rows, gint64 dim)
{
  for (gint64 r = 0; r < rows; r++)
    {
      float *xr = x + r * dim;
      float max = -INFINITY;
      for (gint64 i = 0; i < dim; i++)
        max = fmaxf (max, xr[i]);
      if (max == -INFINITY)
        {
          /* a fully masked row: PyTorch gives NaN; keep zeros so nothing downstream explodes */
          for (gint64 i = 0; i < dim; i++)
            xr[i] = 0;
          continue;
        }
      float sum = 0;
      for (gint64 i = 0; i < dim; i++)
        {
          xr[i] = expf (xr[i] - max);
          sum += xr[i];
        }
      float inv = 1.0f / sum;
      for (gint64 i = 0; i < dim; i++)
        xr[i] *= inv;
    }
}

void
gill_nn_add (float *y, const float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    y[i] += x[i];
}

void
gill_nn_add_bias (float *y, const float *bias, gint64 rows, gint64 dim)
{
  for (gint64 r = 0; r < rows; r++)
    for (gint64 i = 0; i < dim; i++)
      y[r * dim + i] += bias[i];
}
