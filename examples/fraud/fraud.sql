-- Fraud detection, in SQL alone: train on the past, tune, pick a threshold, explain, score the newest.
-- Run after generate.sql (see README.md in this folder):
--   sqlml -d fraud.duckdb -f examples/fraud/generate.sql -f examples/fraud/fraud.sql

-- 1. Split by time: the newest ten days are the held-out period the analyst cares about.
CREATE OR REPLACE TABLE history AS
SELECT * FROM transactions WHERE txn_time < (SELECT max(txn_time) - INTERVAL 10 DAY FROM transactions);
CREATE OR REPLACE TABLE newest AS
SELECT * FROM transactions WHERE txn_time >= (SELECT max(txn_time) - INTERVAL 10 DAY FROM transactions);

-- 2. A random forest with balanced class weights, a random search over depth and tree count scored by
--    3-fold cross-validation on ROC AUC, and the decision threshold that maximizes F1 on the last 20 %
--    of the history (data_split_method = 'SEQ' on the time column, which is not a feature).
CREATE OR REPLACE MODEL fraud_model
OPTIONS (
    model_type = 'random_forest_classifier',
    input_label_cols = ['is_fraud'],
    data_split_method = 'SEQ',
    data_split_col = 'txn_time',
    data_split_eval_fraction = 0.2,
    auto_class_weights = TRUE,
    num_trials = 4,
    num_folds = 3,
    max_tree_depth = HPARAM_RANGE(4, 10),
    num_parallel_tree = HPARAM_CANDIDATES([20, 40]),
    hparam_tuning_objectives = ['roc_auc'],
    optimize_threshold = 'f1',
    enable_global_explain = TRUE
) AS
SELECT * EXCLUDE (txn_id) FROM history;

-- 3. The trials, and the one kept.
SELECT trial_id, hyperparameters, round(eval_loss, 4) AS cv_roc_auc, is_optimal
FROM ML.TRIAL_INFO(MODEL fraud_model) ORDER BY trial_id;

-- 4. Evaluation on the held-out period.
SELECT round(roc_auc, 4) AS auc, round(average_precision, 4) AS auprc, round(precision, 4) AS precision,
       round(recall, 4) AS recall, round(f1_score, 4) AS f1
FROM ML.EVALUATE(MODEL fraud_model, TABLE newest);
SELECT * FROM ML.CONFUSION_MATRIX(MODEL fraud_model, TABLE newest);
SELECT round(threshold, 2) AS threshold, round(recall, 4) AS recall,
       round(false_positive_rate, 5) AS false_positive_rate, true_positives, false_positives
FROM ML.ROC_CURVE(MODEL fraud_model, TABLE newest, GENERATE_ARRAY(0.1, 0.9, 0.2));

-- 5. Understand the model.
SELECT input, round(mean, 3) AS mean, round(stddev, 3) AS stddev, null_count
FROM ML.FEATURE_INFO(MODEL fraud_model) ORDER BY input LIMIT 5;
SELECT feature, round(importance_gain, 4) AS importance_gain
FROM ML.FEATURE_IMPORTANCE(MODEL fraud_model) LIMIT 5;
SELECT feature, round(attribution, 4) AS attribution FROM ML.GLOBAL_EXPLAIN(MODEL fraud_model) LIMIT 5;
SELECT txn_id, predicted_is_fraud, round(prediction_value, 3) AS p_fraud, top_feature_attributions
FROM ML.EXPLAIN_PREDICT(MODEL fraud_model,
                        (SELECT * FROM newest WHERE is_fraud ORDER BY txn_id LIMIT 3),
                        STRUCT(3 AS top_k_features));

-- 6. Score the newest transactions into a table.
CREATE OR REPLACE TABLE scored AS
SELECT txn_id, txn_time, amount, is_fraud, predicted_is_fraud,
       predicted_is_fraud_probs[2].prob AS fraud_probability
FROM ML.PREDICT(MODEL fraud_model, TABLE newest);

-- 7. The summary: AUC, AUPRC, the chosen threshold, and precision / recall / F1 at that threshold on
--    the held-out period (ML.EVALUATE uses the model's stored threshold by default).
SELECT round(e.roc_auc, 4) AS auc,
       round(e.average_precision, 4) AS auprc,
       round((SELECT json_extract(training_info, '$.threshold_optimization.threshold')::DOUBLE
              FROM sqlml.models WHERE name = 'fraud_model' ORDER BY version DESC LIMIT 1), 4)
         AS chosen_threshold,
       round(e.precision, 4) AS precision,
       round(e.recall, 4) AS recall,
       round(e.f1_score, 4) AS f1
FROM ML.EVALUATE(MODEL fraud_model, TABLE newest) AS e;
