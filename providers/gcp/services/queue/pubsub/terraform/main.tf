# Pub/Sub for the infrar queue capability: per logical name in the code, a topic and a pull
# subscription of the same name, and a dead-letter topic (with a subscription that keeps what
# arrives there) that receives a message after `max_delivery_attempts` deliveries without an
# ack. Messages are encrypted at rest (Google-managed keys, or the Cloud KMS key given). The
# application gets custom roles holding exactly the permissions the code needs: publishing on
# the topic, consuming on the subscription, each granted on that resource alone.

variable "queues" {
  description = "Logical name -> physical name and the IAM permissions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "labels" {
  description = "Labels on every topic and subscription."
  type        = map(string)
  default     = {}
}

variable "app_members" {
  description = "IAM members that receive each queue's roles."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each queue."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "ack_deadline_seconds" {
  description = "Ack deadline until a receiver sets the message's own visibility timeout."
  type        = number
  default     = 30
}

variable "message_retention_duration" {
  description = "How long a subscription keeps a message nobody acknowledges."
  type        = string
  default     = "604800s"
}

variable "max_delivery_attempts" {
  description = "Deliveries without an ack after which a message moves to the dead-letter topic."
  type        = number
  default     = 5
}

variable "kms_key_name" {
  description = "Cloud KMS key for the topics; empty for Google-managed keys."
  type        = string
  default     = ""
}

locals {
  labels = merge(var.labels, { project = var.project, environment = var.environment })
  # Publishing is granted on the topic, consuming on the subscription.
  topic_permissions = {
    for key, queue in var.queues : key => sort([for p in queue.permissions : p if substr(p, 0, 14) == "pubsub.topics."])
  }
  subscription_permissions = {
    for key, queue in var.queues : key => sort([for p in queue.permissions : p if substr(p, 0, 21) == "pubsub.subscriptions."])
  }
  topic_grants = {
    for pair in setproduct([for key, p in local.topic_permissions : key if length(p) > 0], var.app_members) : "${pair[0]} ${pair[1]}" => {
      queue  = pair[0]
      member = pair[1]
    }
  }
  subscription_grants = {
    for pair in setproduct([for key, p in local.subscription_permissions : key if length(p) > 0], var.app_members) : "${pair[0]} ${pair[1]}" => {
      queue  = pair[0]
      member = pair[1]
    }
  }
  # Pub/Sub forwards undeliverable messages as its own service agent.
  pubsub_agent = "serviceAccount:service-${data.google_project.current.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

data "google_project" "current" {}

resource "google_pubsub_topic" "this" {
  for_each = var.queues

  name         = each.value.name
  labels       = local.labels
  kms_key_name = var.kms_key_name == "" ? null : var.kms_key_name
}

resource "google_pubsub_topic" "dead_letter" {
  for_each = var.queues

  name         = "${each.value.name}-dead-letter"
  labels       = local.labels
  kms_key_name = var.kms_key_name == "" ? null : var.kms_key_name
}

resource "google_pubsub_subscription" "dead_letter" {
  for_each = var.queues

  name                       = "${each.value.name}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  message_retention_duration = "604800s"
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "this" {
  for_each = var.queues

  name                       = each.value.name
  topic                      = google_pubsub_topic.this[each.key].id
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.message_retention_duration
  labels                     = local.labels

  # Subscriptions expire after 31 idle days unless told otherwise; a queue must not.
  expiration_policy {
    ttl = ""
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter" {
  for_each = var.queues

  topic  = google_pubsub_topic.dead_letter[each.key].name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter" {
  for_each = var.queues

  subscription = google_pubsub_subscription.this[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_project_iam_custom_role" "topic" {
  for_each = { for key, p in local.topic_permissions : key => p if length(p) > 0 }

  role_id     = "infrar_queue_${substr(replace(var.queues[each.key].name, "-", "_"), 0, 36)}_${substr(sha1(var.queues[each.key].name), 0, 8)}_send"
  title       = "infrar ${var.queues[each.key].name} send"
  description = "What the ${var.project} ${var.environment} code does with topic ${var.queues[each.key].name}."
  permissions = each.value
}

resource "google_project_iam_custom_role" "subscription" {
  for_each = { for key, p in local.subscription_permissions : key => p if length(p) > 0 }

  role_id     = "infrar_queue_${substr(replace(var.queues[each.key].name, "-", "_"), 0, 36)}_${substr(sha1(var.queues[each.key].name), 0, 8)}_recv"
  title       = "infrar ${var.queues[each.key].name} receive"
  description = "What the ${var.project} ${var.environment} code does with subscription ${var.queues[each.key].name}."
  permissions = each.value
}

resource "google_pubsub_topic_iam_member" "access" {
  for_each = local.topic_grants

  topic  = google_pubsub_topic.this[each.value.queue].name
  role   = google_project_iam_custom_role.topic[each.value.queue].name
  member = each.value.member
}

resource "google_pubsub_subscription_iam_member" "access" {
  for_each = local.subscription_grants

  subscription = google_pubsub_subscription.this[each.value.queue].name
  role         = google_project_iam_custom_role.subscription[each.value.queue].name
  member       = each.value.member
}

# Per service: custom roles per queue it uses, with what its code does there alone.
locals {
  service_queues = merge({}, [
    for name, grant in var.service_grants : {
      for key, permissions in grant.resources : "${name} ${key}" => {
        service       = name
        queue         = key
        member        = grant.principal
        topic         = sort([for p in permissions : p if substr(p, 0, 14) == "pubsub.topics."])
        subscriptions = sort([for p in permissions : p if substr(p, 0, 21) == "pubsub.subscriptions."])
      }
    }
  ]...)
}

resource "google_project_iam_custom_role" "service_topic" {
  for_each = { for key, grant in local.service_queues : key => grant if length(grant.topic) > 0 }

  role_id     = "infrar_${substr(sha1("${each.value.service}/${var.queues[each.value.queue].name}/send"), 0, 24)}"
  title       = "infrar ${var.queues[each.value.queue].name} send ${each.value.service}"
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with topic ${var.queues[each.value.queue].name}."
  permissions = each.value.topic
}

resource "google_pubsub_topic_iam_member" "service" {
  for_each = { for key, grant in local.service_queues : key => grant if length(grant.topic) > 0 }

  topic  = google_pubsub_topic.this[each.value.queue].name
  role   = google_project_iam_custom_role.service_topic[each.key].name
  member = each.value.member
}

resource "google_project_iam_custom_role" "service_subscription" {
  for_each = { for key, grant in local.service_queues : key => grant if length(grant.subscriptions) > 0 }

  role_id     = "infrar_${substr(sha1("${each.value.service}/${var.queues[each.value.queue].name}/receive"), 0, 24)}"
  title       = "infrar ${var.queues[each.value.queue].name} receive ${each.value.service}"
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with subscription ${var.queues[each.value.queue].name}."
  permissions = each.value.subscriptions
}

resource "google_pubsub_subscription_iam_member" "service" {
  for_each = { for key, grant in local.service_queues : key => grant if length(grant.subscriptions) > 0 }

  subscription = google_pubsub_subscription.this[each.value.queue].name
  role         = google_project_iam_custom_role.service_subscription[each.key].name
  member       = each.value.member
}

output "topic_ids" {
  description = "Topic IDs, by logical name."
  value       = { for key, topic in google_pubsub_topic.this : key => topic.id }
}

output "subscription_ids" {
  description = "Pull subscription IDs, by logical name."
  value       = { for key, subscription in google_pubsub_subscription.this : key => subscription.id }
}

output "dead_letter_subscription_ids" {
  description = "Subscriptions that keep each queue's dead letters, by logical name."
  value       = { for key, subscription in google_pubsub_subscription.dead_letter : key => subscription.id }
}
